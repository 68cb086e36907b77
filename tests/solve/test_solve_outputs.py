"""A solve's own files describe the solve: the file's start values, the solve's account, every start's FOM."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.text import Text

from metagenx.engine.model import GenxModel
from metagenx.solve import SolveSettings, solve, start_settings
from metagenx.solve.plots import solve_fom_figure


def test_result_json_and_fom_plot_are_the_solves(superadam: Path, tmp_path: Path) -> None:
    quick = SolveSettings(
        fit=start_settings({"seed": 3, "max_generations": 4}), budget=120, slots=2, max_starts=3
    )
    out = tmp_path / "solved" / "film.hgx"
    result = solve(superadam, quick, out=out)
    written = json.loads((out.parent / "result.json").read_text())
    file_starts = {p.name: p.value for p in GenxModel.load(superadam).fit_parameters}
    assert {p["name"]: p["start"] for p in written["parameters"]} == file_starts, "not the finishing step's"
    assert written["extra"]["solve"]["stop_reason"] == result.stop_reason
    assert written["generations"] == 4, (
        "the run of the start that found the answer, not the 1-generation re-run"
    )
    assert len(written["extra"]["solve"]["starts"]) == len(result.starts) == 3
    assert all(s.trace for s in result.starts), "every start's improvements over time"
    figure = solve_fom_figure(result)
    drawn = "\n".join(t.get_text() for t in figure.findobj(Text))
    assert "time since the solve began (s)" in drawn and "3 starts" in drawn
    steps = [line for line in figure.axes[0].get_lines() if line.get_drawstyle() == "steps-post"]
    assert len(steps) == 3 + 1, "a line per start and the solve's best"
    assert (out.parent / "fom.svg").read_bytes().lstrip().startswith(b"<?xml")
