"""Loading every bundled GenX example, and what the engine exposes about it."""

from __future__ import annotations

from pathlib import Path

import pytest

from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import examples_dir

EXAMPLES = sorted(p.name for p in Path(examples_dir()).iterdir() if p.suffix in (".hgx", ".gx"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_bundled_example_loads(examples: Path, name: str) -> None:
    model = GenxModel.load(examples / name)
    assert model.parameters, "an example has parameters"
    assert model.fit_parameters, "an example has parameters marked to fit"
    assert model.datasets and all(d.points > 0 for d in model.datasets if d.use)
    assert "def Sim" in model.script
    assert model.fom_name
    assert {"km", "kr", "pop_size", "create_trial"} <= set(model.optimizer_settings)
    for p in model.fit_parameters:
        assert p.min <= p.max


def test_xray_example_contents(xray: Path) -> None:
    model = GenxModel.load(xray)
    names = [p.name for p in model.parameters]
    assert names[:2] == ["topPt.setD", "cp.setLambda"]
    assert (len(model.parameters), len(model.fit_parameters)) == (15, 14)
    assert [(d.name, d.points, d.use) for d in model.datasets] == [("XRR Specular", 350, True)]
    assert model.fom_name == "log"
    assert model.optimizer_settings["km"] == pytest.approx(0.6)


def test_simulate_gives_the_stored_fom(superadam: Path) -> None:
    model = GenxModel.load(superadam)
    assert model.simulate() == pytest.approx(0.35855371685322995, rel=1e-12)


def test_set_parameter_changes_grid_and_rejects_unknown(superadam: Path) -> None:
    model = GenxModel.load(superadam)
    model.set_parameter("SiO.setD", value=1300.0, min=1000.0, max=1400.0, fit=False)
    row = next(p for p in model.parameters if p.name == "SiO.setD")
    assert (row.value, row.min, row.max, row.fit) == (1300.0, 1000.0, 1400.0, False)
    from metagenx.errors import ModelContentError

    with pytest.raises(ModelContentError, match="not in the model"):
        model.set_parameter("SiO.setThickness", value=1.0)


def test_a_file_saved_with_genx_bumps_solver_is_fitted_by_differential_evolution(examples: Path) -> None:
    """GenX swaps in the solver a file names once bumps is installed (as metagenx installs it for
    the posterior); metagenx keeps differential evolution and says so."""
    from metagenx.engine.fit import run_fit
    from metagenx.engine.settings import FitSettings

    model = GenxModel.load(examples / "SuperAdam_SiO_systematic_errors.hgx")
    assert type(model.optimizer).__name__ == "DiffEv"
    assert any("BumpsOptimizer" in note and "differential evolution" in note for note in model.notes)
    result = run_fit(model, FitSettings(seed=1, max_generations=2))
    assert result.generations == 2 and result.fom <= result.fom_start
