"""GenX 3 .gx files, written by GenX 3.8 itself, read safely and round-tripped."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metagenx.engine.gx import is_genx2, read_gx
from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import genx

ARRAYS = ("x", "y", "error", "x_raw", "y_raw", "error_raw", "y_sim")


def genx_controller() -> Any:
    modules = genx()
    return modules.model_control.ModelController(modules.diffev.DiffEv())


def written_by_genx(source: Path, target: Path) -> Path:
    """``source`` (.hgx) saved as ``target`` (.gx) by GenX 3.8's own ``ModelController.save_file``."""
    controller = genx_controller()
    controller.load_file(str(source))
    controller.save_file(str(target))
    return target


def assert_same_model(ours: Any, theirs: Any) -> None:
    """Grid, script, FOM, optimizer settings and data arrays of two GenX controllers are equal."""
    a, b = ours.get_model(), theirs.get_model()
    assert a.parameters.data == b.parameters.data
    assert a.script == b.script
    assert a.fom_func is b.fom_func
    assert ours.optimizer.opt == theirs.optimizer.opt
    assert len(a.data) == len(b.data)
    for first, second in zip(a.data, b.data, strict=True):
        assert first.name == second.name and first.use == second.use
        for key in ARRAYS:
            assert np.array_equal(getattr(first, key), getattr(second, key)), key


@pytest.mark.parametrize("example", ["X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx"])
def test_genx3_gx_reads_like_genx_itself(examples: Path, tmp_path: Path, example: str) -> None:
    path = written_by_genx(examples / example, tmp_path / "genx3.gx")
    ours = GenxModel.load(path)
    assert not is_genx2(ours.notes)
    assert read_gx(path).generation == 3
    theirs = genx_controller()
    theirs.load_file(str(path))  # GenX's own (pickle-running) loader, on a file GenX just wrote
    assert_same_model(ours.controller, theirs)
    assert ours.model.data[0].meta == read_gx(path).datasets[0].meta  # GenX's loader drops it; we keep it


def test_genx3_gx_round_trips(examples: Path, tmp_path: Path) -> None:
    path = written_by_genx(examples / "SuperAdam_SiO.hgx", tmp_path / "genx3.gx")
    first = GenxModel.load(path)
    again = first.save(tmp_path / "again.gx")
    second = GenxModel.load(again)
    assert_same_model(first.controller, second.controller)
    reopened = genx_controller()
    reopened.load_file(str(again))
    assert_same_model(first.controller, reopened)
    assert second.simulate() == pytest.approx(first.simulate(), rel=1e-12)


def test_genx3_metadata_with_dates_is_kept_and_absurd_nesting_is_dropped(
    examples: Path, tmp_path: Path
) -> None:
    controller = genx_controller()
    controller.load_file(str(examples / "X-ray_Reflectivity.hgx"))
    dated = {"data_source": {"experiment": {"start_date": datetime.datetime(2015, 3, 1, 12, 30)}}}
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(100):
        level["next"] = {}
        level = level["next"]
    controller.get_model().data[0].meta = dated
    controller.save_file(str(tmp_path / "dated.gx"))
    assert GenxModel.load(tmp_path / "dated.gx").model.data[0].meta == dated
    controller.get_model().data[0].meta = deep
    controller.save_file(str(tmp_path / "deep.gx"))
    model = GenxModel.load(tmp_path / "deep.gx")
    assert any("nested too deeply" in note for note in model.notes)
