"""The three GenX 2 example files: they open, convert to GenX 3 faithfully, and fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import metagenx
from metagenx.engine.gx import GENX2_NOTE, is_genx2, read_gx
from metagenx.engine.gx.fidelity import check_fidelity
from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import genx
from tests.gx.conftest import GENX2_FILES

ARRAYS = ("x", "y", "error", "x_raw", "y_raw", "error_raw", "y_sim")


def genx_loads(path: Path) -> object:
    """Open ``path`` with GenX 3.8's own loader, as the GenX 3 GUI would."""
    modules = genx()
    controller = modules.model_control.ModelController(modules.diffev.DiffEv())
    controller.load_file(str(path))
    return controller


@pytest.mark.parametrize("name", GENX2_FILES)
def test_genx2_file_opens_with_its_stored_grid_and_data(genx2_dir: Path, name: str) -> None:
    path = genx2_dir / name
    content = read_gx(path)
    model = GenxModel.load(path)
    assert model.notes[0] == GENX2_NOTE and is_genx2(model.notes)
    assert [tuple(row) for row in model.model.parameters.data] == content.parameters
    for dataset, stored in zip(model.model.data, content.datasets, strict=True):
        for key in ARRAYS:
            assert np.array_equal(getattr(dataset, key), stored.arrays[key])
        assert dataset.name == stored.name and dataset.use == stored.use
    assert model.model.filename == str(path.resolve())


def test_genx2_contents_match_what_genx2_showed(genx2_dir: Path) -> None:
    xray = GenxModel.load(genx2_dir / "X-ray_Reflectivity.gx")
    assert [(p.name, p.value, p.fit, p.min, p.max) for p in xray.parameters[:2]] == [
        ("topPt.setD", 11.0, True, 8.25, 20.0),
        ("cp.setLambda", 29.0, True, 27.0, 31.0),
    ]
    assert (len(xray.parameters), len(xray.fit_parameters)) == (15, 14)
    assert [(d.name, d.points, d.use) for d in xray.datasets] == [("Specular", 350, True)]
    assert xray.fom_name == "log"
    settings = xray.optimizer_settings
    assert (settings["km"], settings["kr"], settings["pop_size"], settings["use_pop_mult"]) == (
        0.6,
        0.6,
        50,
        False,
    )
    assert (settings["create_trial"], settings["max_generations"], settings["use_max_generations"]) == (
        "best_1_bin",
        500,
        False,
    )
    peakfit = GenxModel.load(genx2_dir / "Peakfit_Gauss.gx")
    assert peakfit.fom_name == "chi2bars"
    superadam = GenxModel.load(genx2_dir / "SuperAdam_SiO.gx")
    extra = superadam.model.data[0].extra_data_raw
    assert sorted(extra) == ["det", "mon"] and superadam.model.data[0].y_command == "det/mon"


@pytest.mark.parametrize("name", GENX2_FILES)
@pytest.mark.parametrize("suffix", [".hgx", ".gx"])
def test_converted_file_opens_in_genx3_with_the_same_parameters_and_data(
    genx2_dir: Path, tmp_path: Path, name: str, suffix: str
) -> None:
    original = GenxModel.load(genx2_dir / name)
    converted = original.save(tmp_path / f"converted{suffix}")
    reopened = genx_loads(converted).model  # type: ignore[attr-defined]
    content = read_gx(genx2_dir / name)
    assert [tuple(row) for row in reopened.parameters.data] == content.parameters
    assert reopened.fom_func.__name__ == content.fom_name
    assert reopened.script == content.script
    for dataset, stored in zip(reopened.data, content.datasets, strict=True):
        for key in ARRAYS:
            assert np.array_equal(getattr(dataset, key), stored.arrays[key]), key
        assert dataset.name == stored.name
        assert sorted(dataset.extra_data_raw) == sorted(stored.extra_data_raw)


@pytest.mark.parametrize("name", GENX2_FILES)
def test_fidelity_check_passes_and_reports_the_stored_fom(genx2_dir: Path, tmp_path: Path, name: str) -> None:
    original = GenxModel.load(genx2_dir / name)
    converted = original.save(tmp_path / "converted.hgx")
    report = check_fidelity(original, converted, read_gx(genx2_dir / name))
    assert report.faithful, report.differences
    assert report.fom is not None and np.isfinite(report.fom)
    assert report.reference_fom is not None and report.recomputed_fom is not None
    difference = report.relative_difference
    assert difference is not None
    if name == "Peakfit_Gauss.gx":  # pure Python model: GenX 3 reproduces GenX 2 to the last digit
        assert difference < 1e-12
    else:  # reflectivity models: GenX's model library changed a little since 2012
        assert difference < 0.1


def test_fom_of_the_grid_values_equals_the_stored_simulation(genx2_dir: Path) -> None:
    """Peakfit_Gauss stores the simulation of its grid values: GenX 3 gives the same FOM."""
    model = GenxModel.load(genx2_dir / "Peakfit_Gauss.gx")
    content = read_gx(genx2_dir / "Peakfit_Gauss.gx")
    stored = [item.arrays["y_sim"] for item in content.datasets]
    _, _, stored_fom = model.model.calc_fom(stored)
    assert model.simulate() == pytest.approx(float(stored_fom), rel=1e-12)


def test_genx2_resolution_note_and_its_advice_reproduce_genx2(genx2_dir: Path) -> None:
    path = genx2_dir / "SuperAdam_SiO.gx"
    model = GenxModel.load(path)
    advice = [n for n in model.notes if "samples the resolution" in n]
    assert advice and "resintrange=1.6 reproduces GenX 2 exactly" in advice[0]
    state = read_gx(path).fit_state
    assert state is not None
    model.model.set_script(model.script.replace("resintrange = 2,", "resintrange = 1.6,"))
    model.set_fit_values(state.best_vec)
    assert model.simulate() == pytest.approx(state.best_fom, rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", GENX2_FILES)
def test_genx2_file_fits(genx2_dir: Path, tmp_path: Path, name: str) -> None:
    result = metagenx.fit(genx2_dir / name, seed=1, max_generations=5, out=tmp_path / "fit.hgx")
    assert result.generations <= 5
    assert np.isfinite(result.fom) and result.fom <= result.fom_start
    assert genx_loads(tmp_path / "fit.hgx") is not None
