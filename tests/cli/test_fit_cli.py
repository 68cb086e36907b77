"""`metagenx fit`, `info` and `examples` as a user runs them: real processes, real files."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from metagenx.engine.model import GenxModel
from tests.conftest import sha256

METAGENX = [sys.executable, "-m", "metagenx"]


def run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*METAGENX, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"metagenx {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.mark.parametrize("name", ["X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx"])
def test_fit_writes_every_output_and_they_are_valid(name: str, examples: Path, tmp_path: Path) -> None:
    model = examples / name
    before = sha256(model)
    out = tmp_path / "out" / "fitted.hgx"
    done = run("fit", str(model), "--out", str(out), "--seed", "1", "--max-generations", "3", cwd=tmp_path)
    assert "Fitted parameters" in done.stdout and "generation budget reached" in done.stdout
    result = json.loads((out.parent / "result.json").read_text())
    assert result["generations"] == 3 and result["seed"] == 1
    for png in ("fit.png", "fom.png"):
        with Image.open(out.parent / png) as image:
            image.verify()
    rows = (out.parent / "parameters.csv").read_text().splitlines()
    assert len(rows) == 1 + len(result["parameters"])
    assert GenxModel.load(out).simulate() == result["fom"]
    assert sha256(model) == before, "the input file is never modified"


def test_fit_json_and_default_output_folder(superadam: Path, tmp_path: Path) -> None:
    done = run("fit", str(superadam), "--seed", "2", "--max-generations", "2", "--json", cwd=tmp_path)
    summary = json.loads(done.stdout)
    assert summary["seed"] == 2 and "datasets" not in summary
    assert Path(summary["outputs"]["model"]) == tmp_path / "SuperAdam_SiO_fit" / "SuperAdam_SiO.hgx"
    assert (tmp_path / "SuperAdam_SiO_fit" / "fom.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "missing.hgx"], "does not exist"),
        (["fit", "{model}", "--km", "1.5"], "km=1.5 is outside the allowed range"),
        (["fit", "{model}", "--strategy", "best_2_bin"], "unknown DE strategy"),
        (["fit", "{model}", "--out", "/proc/version/x.hgx", "--max-generations", "1"], "/proc/version"),
        (["fit", "{model}", "--out", "result.txt"], "must end in .hgx or .gx"),
        (["info", "{notmodel}"], "not an HDF5 file"),
    ],
)
def test_errors_are_one_line_without_traceback(
    args: list[str], message: str, superadam: Path, tmp_path: Path
) -> None:
    notmodel = tmp_path / "data.hgx"
    notmodel.write_text("Q R\n")
    filled = [a.format(model=superadam, notmodel=notmodel) for a in args]
    done = run(*filled, cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2  # rich may wrap one long line


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = run("--debug", "fit", "missing.hgx", cwd=tmp_path, check=False)
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_sigint_stops_the_fit_and_still_writes_the_best_result(superadam: Path, tmp_path: Path) -> None:
    out = tmp_path / "stopped" / "fit.hgx"
    process = subprocess.Popen(
        [*METAGENX, "fit", str(superadam), "--out", str(out), "--seed", "1", "--tol", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    time.sleep(6)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    result = json.loads((out.parent / "result.json").read_text())
    assert result["stop_reason"] == "stopped on request" and result["complete"] is False
    assert "stopped on request" in stdout and "interrupted:" in stdout, "labelled in every output"
    table = list(csv.DictReader((out.parent / "parameters.csv").read_text().splitlines()))
    assert table and {row["complete"] for row in table} == {"false"}


def test_info_and_examples(superadam: Path, tmp_path: Path) -> None:
    info = json.loads(run("info", str(superadam), "--json", cwd=tmp_path).stdout)
    assert info["fom_function"] == "log" and len(info["parameters"]) == 9
    assert info["datasets"][0]["points"] == 321
    listing = run("examples", "list", cwd=tmp_path).stdout
    assert "D17_TOF_SiO.hgx" in listing
    run("examples", "copy", "SuperAdam_SiO", str(tmp_path / "copies"), cwd=tmp_path)
    assert sha256(tmp_path / "copies" / "SuperAdam_SiO.hgx") == sha256(superadam)
