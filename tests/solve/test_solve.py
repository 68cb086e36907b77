"""`metagenx solve` end to end: real runner processes racing real GenX fits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from metagenx.solve import SolveSettings, solve, start_settings
from metagenx.solve.solver import start_seed

METAGENX = [sys.executable, "-m", "metagenx"]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_solve_finds_the_d17_minimum_and_returns_once_sure(d17: Path, tmp_path: Path) -> None:
    out = tmp_path / "solved" / "d17.hgx"
    command = [*METAGENX, "solve", str(d17), "--budget", "600"]
    command += ["--seed", "1", "--out", str(out), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=200, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["fom"] < 3.5, "the global minimum (≈ 3.13), not a side minimum (≈ 27)"
    assert summary["agreeing"] >= 1 and 0.95 <= summary["confidence"] <= 1
    assert summary["stop_reason"].startswith("sure enough"), summary["stop_reason"]
    assert len(summary["starts"]) >= 7 and summary["best"]["extra"]["polish"]["fom_after"] < 3.5
    assert {row["name"] for row in summary["spread"]} == {p["name"] for p in summary["best"]["parameters"]}
    for name in ("d17.hgx", "result.json", "parameters.csv", "fit.png", "fom.png", "solve.json"):
        assert (out.parent / name).is_file(), name
    written = json.loads((out.parent / "result.json").read_text())
    assert written["fom"] == pytest.approx(summary["fom"])


def test_start_seeds_are_independent_between_solves_and_repeat_within_one() -> None:
    first = [start_seed(1, i) for i in range(200)]
    assert first == [start_seed(1, i) for i in range(200)]
    assert len(set(first)) == 200
    for other in (2, 3, 1001):
        assert not set(first) & {start_seed(other, i) for i in range(200)}, (
            f"seeds 1 and {other} share starts"
        )
    assert all(0 <= seed < 2**32 for seed in first)


def test_a_model_that_cannot_run_fails_the_solve_with_its_reason(superadam: Path, tmp_path: Path) -> None:
    from metagenx.engine.model import GenxModel
    from metagenx.errors import ModelFileError
    from metagenx.solve import SolveError

    foreign = tmp_path / "broken.hgx"
    foreign.write_bytes(b"not a model")
    quick = SolveSettings(fit=start_settings({"max_generations": 2}), budget=30, slots=1)
    with pytest.raises(ModelFileError, match=r"broken\.hgx"):  # refused before any job is queued
        solve(foreign, quick)
    model = GenxModel.load(superadam)
    model.model.set_script("raise ValueError('thickness must be positive')\n" + model.script)
    failing = model.save(tmp_path / "raises.hgx")
    with pytest.raises(SolveError, match="thickness must be positive"):  # the job's own failure
        solve(failing, quick)
