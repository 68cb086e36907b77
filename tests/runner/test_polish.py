"""The local polish on real GenX models: never worse, always inside the bounds, within its budget."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.settings import FitSettings
from metagenx.runner.polish import polish, polish_result


def inside_bounds(model: GenxModel) -> None:
    for p in model.fit_parameters:
        assert p.min <= p.value <= p.max, f"{p.name} = {p.value} left [{p.min}, {p.max}]"


@pytest.mark.parametrize(
    ("name", "method"),
    [("D17_TOF_SiO.hgx", "least_squares(trf)"), ("SuperAdam_SiO.hgx", "least_squares(soft_l1)+powell")],
)
def test_polish_improves_from_the_start_values_and_stays_inside_the_bounds(
    name: str, method: str, examples: Path
) -> None:
    model = GenxModel.load(examples / name)
    before = model.simulate()
    outcome = polish(model, max_evaluations=150)
    assert outcome.method == method
    assert outcome.fom_before == pytest.approx(before)
    assert outcome.fom_after < before, "a start far from the minimum is improved"
    assert outcome.evaluations <= 151
    inside_bounds(model)
    assert model.simulate() == pytest.approx(outcome.fom_after), "the grid holds the polished values"


def test_polish_from_a_bound_keeps_the_parameter_inside(examples: Path) -> None:
    model = GenxModel.load(examples / "SuperAdam_SiO.hgx")
    for p in model.fit_parameters:
        model.set_parameter(p.name, value=p.max)  # every parameter on its upper bound
    outcome = polish(model, max_evaluations=120)
    assert outcome.fom_after <= outcome.fom_before
    inside_bounds(model)


def test_polish_never_makes_a_fit_worse(d17: Path) -> None:
    model = GenxModel.load(d17)
    result = run_fit(model, FitSettings(seed=3, max_generations=4))
    polished = polish_result(model, result, max_evaluations=60)
    assert polished.fom <= result.fom
    assert polished.extra["polish"]["fom_before"] == pytest.approx(result.fom)
    assert polished.evaluations > result.evaluations
    assert [p.name for p in polished.parameters] == [p.name for p in result.parameters]
    again = polish(model, max_evaluations=1)  # no room to move: the start comes back unchanged
    assert again.fom_after == pytest.approx(polished.fom) and not again.improved
    assert np.allclose(again.values, [p.value for p in polished.parameters])


def test_a_stop_request_ends_the_polish_at_once(superadam: Path) -> None:
    model = GenxModel.load(superadam)
    before = model.simulate()
    stop = threading.Event()
    stop.set()
    outcome = polish(model, max_evaluations=10_000, stop=stop)
    assert outcome.evaluations <= 3 and outcome.fom_after == pytest.approx(before)
