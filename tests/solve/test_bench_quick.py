"""The time-to-solution benchmark's smoke mode runs and prints its figures (timings are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_time_to_solution_quick_prints_ert_per_side_and_the_ratio() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "time_to_solution.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=220,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("time to solution on") and "GenX capped at 5 s" in lines[0]
    assert any(line.strip().startswith("GenX") and "ERT" in line for line in lines)
    assert any(line.strip().startswith("metagenx") and "ERT to answer" in line for line in lines)
    assert any("ERT ratio GenX/metagenx" in line for line in lines)
