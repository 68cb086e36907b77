"""docs/notebook.ipynb is a valid notebook whose cells run (with short fits instead of a minute each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metagenx.solve import SolveSettings, start_settings

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebook.ipynb"
SHORTER = {
    "max_time=60": "max_generations=3",
    "budget=60, seed=1": "budget=120, seed=1, settings=QUICK",
    'repeats=4, settings={"max_generations": 200}': 'repeats=2, settings={"max_generations": 3}',
}


def code_cells() -> list[str]:
    notebook = json.loads(NOTEBOOK.read_text())
    assert notebook["nbformat"] == 4 and notebook["metadata"]["kernelspec"]["language"] == "python"
    for cell in notebook["cells"]:
        assert cell["cell_type"] in ("markdown", "code") and isinstance(cell["source"], list)
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_the_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = code_cells()
    source = "\n".join(cells)
    for long in SHORTER:
        assert long in source, f"the notebook no longer says {long}: update SHORTER"
    monkeypatch.chdir(tmp_path)
    quick = SolveSettings(fit=start_settings({"max_generations": 3}), max_starts=2, slots=2)
    namespace: dict[str, object] = {"QUICK": quick}
    for cell in cells:
        for long, short in SHORTER.items():
            cell = cell.replace(long, short)
        exec(compile(cell, str(NOTEBOOK), "exec"), namespace)
    assert len(namespace["frame"]) == 2  # type: ignore[arg-type]
    assert (tmp_path / "notebook-demo" / "solve" / "solve.json").is_file()
    assert (tmp_path / "notebook-demo" / "fit" / "fit.png").is_file()
