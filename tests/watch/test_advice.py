"""`metagenx watch --target`: each file's σ, verdict and advice in the live table and results.csv.

Two files counted from the same sample, for a time t and 4t (Poisson noise): with a target σ
on the SiO thickness between the two files' σ (about 0.10 Å and 0.05 Å), the first is told to
count about 2× longer and the second has reached it; a target of 0.001 Å on the roughness is
not reachable.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.engine.counting import counted_file, counting_template
from tests.server.test_e2e import METAGENX

TARGETS = {"SiO.setD": 0.07, "SiO.setSigma": 0.001}


def results(out: Path) -> list[dict[str, str]]:
    try:
        with (out / "results.csv").open(newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error):
        return []


def test_watch_tells_each_file_its_sigma_verdict_and_advice(superadam: Path, tmp_path: Path) -> None:
    template, curve = counting_template(superadam, tmp_path)
    incoming, out = tmp_path / "incoming", tmp_path / "out"
    incoming.mkdir()
    (incoming / "t1.dat").write_bytes(counted_file(curve, 1.0, 11))
    (incoming / "t4.dat").write_bytes(counted_file(curve, 4.0, 12))
    command = [
        *METAGENX, "watch", str(template), str(incoming), "--pattern", "*.dat", "--loader-option",
        "commands=loader", "--seed", "1", "--max-generations", "30", "--pop", "10", "--workers", "1",
        "--out-dir", str(out), *(f"--target={k}={v}" for k, v in TARGETS.items()),
    ]  # fmt: skip
    env = os.environ | {"COLUMNS": "250"}
    log = tmp_path / "watch.log"
    with log.open("w") as output:
        watcher = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 120
            while not (len(found := results(out)) == 2 and all(r["state"] == "succeeded" for r in found)):
                assert watcher.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
            time.sleep(1.0)  # the live table is redrawn twice a second
            watcher.send_signal(signal.SIGINT)
            assert watcher.wait(60) == 0, log.read_text()
        finally:
            watcher.kill()
    rows = {row["data_file"]: row for row in results(out)}
    short, long = rows["t1.dat"], rows["t4.dat"]
    assert 0.08 < float(short["sigma:SiO.setD"]) < 0.13, short
    assert 0.04 < float(long["sigma:SiO.setD"]) < 0.065, long
    assert short["verdict:SiO.setD"].startswith("count about ") and short["verdict:SiO.setD"].endswith(
        "× longer"
    )
    assert 1.3 < float(short["verdict:SiO.setD"].split()[2].rstrip("×")) < 3.5
    assert long["verdict:SiO.setD"] == "reached"
    assert long["verdict:SiO.setSigma"].startswith("not reachable with this Q range: it would take about")
    assert "SiO.setD ±" in long["advice"] and "reached" in long["advice"]

    shown = " ".join(log.read_text().split())  # the live table's last drawing, wrapped at any width
    assert "verdict" in shown and "± 0.0" in shown and "advice for t4.dat:" in shown
    assert "count about" in shown and "reached" in shown


@pytest.mark.parametrize("bad", ["SiO.setD", "SiO.setD=-1"])
def test_a_bad_target_is_refused_before_anything_starts(bad: str, superadam: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *METAGENX,
            "watch",
            str(superadam),
            str(tmp_path),
            "--target",
            bad,
            "--out-dir",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--target" in done.stdout + done.stderr, done
    assert not (tmp_path / "o").exists()
