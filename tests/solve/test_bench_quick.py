"""The time-to-solution benchmark's smoke mode runs and prints its figures (timings are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_time_to_solution_quick_prints_three_sides_their_ert_and_the_ratios() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "time_to_solution.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=220,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("time to solution on") and "capped at 5 s" in lines[0]
    for side in ("(a) GenX", "(b) restart", "(c) solve"):
        assert any(line.strip().startswith(side) and "CPU-s" in line for line in lines), side
    assert any("reliability 1/1" in line or "reliability 0/1" in line for line in lines)
    assert any("ERT ratios, wall: (a)/(c)" in line for line in lines)
    assert any(line.strip().startswith("SuperAdam_SiO.hgx") and "metagenx" in line for line in lines)
