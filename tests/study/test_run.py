"""Studies run for real: batch fits recover known parameters, sequential seeding, resume after kill -9."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metagenx.study import Study
from tests.study.conftest import TRUE_THICKNESS

FIXED = {
    name: {"fit": False}
    for name in (
        "SiO.setDens",
        "SiO.setSigma",
        "Sub.setSigma",
        "inst.setI0",
        "inst.setIbkg",
        "inst.setRes",
        "inst.setBeamw",
        "inst.setTthoff",
    )
}


def thickness_study(superadam: Path, data_folder: Path, *, sequential: bool) -> Study:
    return Study(
        superadam,
        name="thickness",
        seeds=[1],
        settings={"max_generations": 12, "population": 10},
        parameters=FIXED,
        data={
            "files": [str(data_folder / "T*.dat")],
            "sequential": sequential,
            "order": "header:temperature",
            "options": {"commands": "loader"},
        },
    )


def test_batch_recovers_the_simulated_thickness_of_every_file(
    superadam: Path, data_folder: Path, tmp_path: Path
) -> None:
    table = thickness_study(superadam, data_folder, sequential=False).run(tmp_path / "batch", workers=2)
    assert len(table) == 3 and all(row["state"] == "succeeded" for row in table)
    for row in table:
        temperature = int(Path(str(row["data_file"])).stem[1:])
        assert row["SiO.setD"] == pytest.approx(TRUE_THICKNESS[temperature], rel=0.01)
    assert (tmp_path / "batch" / "parameter_trends.png").exists()
    with (tmp_path / "batch" / "results.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3


def test_sequential_fits_start_from_the_previous_file_in_header_order(
    superadam: Path, data_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "sequential"
    table = thickness_study(superadam, data_folder, sequential=True).run(folder, workers=2)
    by_order = sorted(table, key=lambda row: float(row["order_value"]))
    assert [Path(str(r["data_file"])).stem for r in by_order] == ["T20", "T100", "T300"]
    results = {}
    for job_dir in (folder / "jobs").iterdir():  # named <job id>-<short label>: a batch's file names
        results[job_dir.name.split("-", 1)[1]] = json.loads((job_dir / "result.json").read_text())
    starts = {label: {p["name"]: p["start"] for p in r["parameters"]} for label, r in results.items()}
    fitted = {label: {p["name"]: p["value"] for p in r["parameters"]} for label, r in results.items()}
    assert starts["T100"]["SiO.setD"] == fitted["T20"]["SiO.setD"]
    assert starts["T300"]["SiO.setD"] == fitted["T100"]["SiO.setD"]


def metagenx_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "metagenx", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _succeeded_runs(db: Path) -> dict[int, int]:
    """Job id → runs of the succeeded jobs in ``db``; empty while the file or its tables are being created."""
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(db) as connection:
            rows = connection.execute("SELECT id, runs FROM jobs WHERE state = 'succeeded'").fetchall()
    except sqlite3.OperationalError:
        return {}
    return dict(rows)


def test_kill_9_of_the_controller_then_the_same_command_resumes_without_duplicates(
    superadam: Path, tmp_path: Path
) -> None:
    study_file = tmp_path / "seeds.toml"
    study_file.write_text(
        f'name = "seeds"\ntemplate = "{superadam}"\nseeds = [1, 2, 3, 4, 5, 6]\n'
        "[settings]\nmax_generations = 15\n",
        encoding="utf-8",
    )
    db = tmp_path / "seeds" / "metagenx.db"
    first = metagenx_cli("study", "run", str(study_file), "--workers", "2", cwd=tmp_path)
    deadline = time.monotonic() + 240
    finished_before: dict[int, int] = {}
    while time.monotonic() < deadline and len(finished_before) < 2:
        time.sleep(0.5)
        finished_before = _succeeded_runs(db)
    assert len(finished_before) >= 2, "two fits finished before the kill"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    second = metagenx_cli("study", "run", str(study_file), "--workers", "2", cwd=tmp_path)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    with sqlite3.connect(db) as connection:
        jobs = connection.execute("SELECT id, state, runs, attempts, fom FROM jobs").fetchall()
    assert len(jobs) == 6 and all(state == "succeeded" for _, state, _, _, _ in jobs)
    for job_id, _, runs, attempts, _ in jobs:
        if job_id in finished_before:
            assert runs == finished_before[job_id] == 1, "a finished fit is not run again"
        assert attempts <= 1, "an interrupted run is not charged to the job"
    with (tmp_path / "seeds" / "results.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 6


def test_a_study_file_with_a_typo_names_the_key_and_line(tmp_path: Path, superadam: Path) -> None:
    study_file = tmp_path / "typo.toml"
    study_file.write_text(f'template = "{superadam}"\n[settings]\nkmm = 0.5\n', encoding="utf-8")
    process = metagenx_cli("study", "run", str(study_file), cwd=tmp_path)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert "line 3" in err and "kmm" in err and "Traceback" not in err


def test_an_unreadable_data_file_fails_only_its_own_job(
    superadam: Path, data_folder: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.dat"
    broken.write_text("# 2theta R dR\n0.1 0.5\nnot numbers at all\n", encoding="utf-8")
    files = [str(data_folder / "T20.dat"), str(broken)]
    study = Study(
        superadam,
        name="mixed",
        seeds=[1],
        settings={"max_generations": 2, "population": 10},
        data={"files": files, "options": {"commands": "loader"}},
    )
    table = {Path(str(r["data_file"])).name: r for r in study.run(tmp_path / "mixed", workers=2)}
    assert table["T20.dat"]["state"] == "succeeded"
    assert table["broken.dat"]["state"] == "failed"
    assert "broken.dat" in str(table["broken.dat"]["error"])
