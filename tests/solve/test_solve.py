"""`metagenx solve` end to end: real runner processes racing real GenX fits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from metagenx.solve import SolveSettings, solve, start_settings

METAGENX = [sys.executable, "-m", "metagenx"]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_solve_finds_the_d17_minimum_within_a_short_budget(d17: Path, tmp_path: Path) -> None:
    out = tmp_path / "solved" / "d17.hgx"
    command = [*METAGENX, "solve", str(d17), "--budget", "75", "--target-reliability", "0.6"]
    command += ["--seed", "1", "--out", str(out), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=200, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["fom"] < 3.5, "the global minimum (≈ 3.13), not a side minimum (≈ 27)"
    assert summary["agreeing"] >= 1 and 0 < summary["confidence"] <= 1
    assert len(summary["starts"]) >= 2 and summary["best"]["extra"]["polish"]["fom_after"] < 3.5
    assert {row["name"] for row in summary["spread"]} == {p["name"] for p in summary["best"]["parameters"]}
    for name in ("d17.hgx", "result.json", "parameters.csv", "fit.png", "fom.png", "solve.json"):
        assert (out.parent / name).is_file(), name
    written = json.loads((out.parent / "result.json").read_text())
    assert written["fom"] == pytest.approx(summary["fom"])


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
