"""The Python API as a notebook uses it: fit and solve with progress bars, results as DataFrames,
a study that says where its files go."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pandas
import pytest

import metagenx
from metagenx.api.progress import interactive
from metagenx.solve import SolveProgress, SolveSettings, start_settings
from metagenx.study import ResultTable, Study


def test_fit_shows_a_bar_when_asked_and_nothing_when_not_interactive(
    xray: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = metagenx.fit(xray, seed=1, max_generations=3)
    assert capsys.readouterr().err == "", "no bar when output is not a terminal or a notebook"
    shown = metagenx.fit(xray, seed=1, max_generations=3, progress=True)
    bar = capsys.readouterr().err
    assert "X-ray_Reflectivity.hgx" in bar and "3 gen" in bar and "best FOM" in bar
    assert shown.fom == quiet.fom

    frame = shown.to_frame()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.index) == [p.name for p in shown.parameters]
    assert {"value", "start", "min", "max", "error_low", "error_high", "position", "flags"} <= set(frame)
    assert frame.loc[shown.parameters[0].name, "value"] == shown.parameters[0].value


def test_interactive_in_a_notebook_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not interactive(), "pytest captures stderr: not a terminal"
    kernel = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel))
    assert interactive()


def test_solve_from_the_package_with_progress_and_frames(xray: Path, tmp_path: Path) -> None:
    seen: list[SolveProgress] = []
    quick = SolveSettings(fit=start_settings({"max_generations": 4}), max_starts=2, slots=2)
    result = metagenx.solve(
        xray, budget=120, settings=quick, seed=3, progress=seen.append, out=tmp_path / "s" / "x.hgx"
    )
    assert seen and all(isinstance(p, SolveProgress) for p in seen)
    assert len(result.starts) == 2 and (tmp_path / "s" / "solve.json").is_file()
    frame = result.to_frame()
    assert list(frame.index) == [p.name for p in result.best.parameters]
    assert {"value", "mean", "std", "spread_min", "spread_max"} <= set(frame)
    starts = result.starts_frame()
    assert list(starts.columns) == ["seed", "fom", "evaluations", "seconds", "outcome", "polished"]
    assert len(starts) == 2 and starts["fom"].min() >= result.fom - 1e-12  # the best is polished once more


def test_a_study_says_where_its_files_go_and_gives_a_frame(
    xray: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    table = Study(xray, name="two", repeats=2, settings={"max_generations": 3}).run(workers=2)
    assert f"go to {tmp_path / 'two'}" in capsys.readouterr().out
    assert isinstance(table, ResultTable) and table.folder == tmp_path / "two"
    assert len(table) == 2 and (tmp_path / "two" / "results.csv").is_file()
    frame = table.to_frame()
    assert list(frame.index) == ["r1", "r2"] and {"state", "seed", "fom"} <= set(frame)
