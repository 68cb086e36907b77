"""The Jacobian covariance at the optimum: shape, scale and what it leaves behind in the model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from metagenx.engine.covariance import jacobian_covariance, weighted_residuals
from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.settings import FitSettings


@pytest.fixture(scope="module")
def fitted(superadam: Path) -> GenxModel:
    model = GenxModel.load(superadam)
    run_fit(model, FitSettings(seed=1, max_generations=5))
    return model


def test_covariance_is_symmetric_positive_and_leaves_the_model_as_it_was(fitted: GenxModel) -> None:
    values = [p.value for p in fitted.fit_parameters]
    fom = fitted.simulate(recompile=False)
    found = jacobian_covariance(fitted)
    assert found is not None and found.names == [p.name for p in fitted.fit_parameters]
    matrix = np.array(found.matrix)
    assert np.allclose(matrix, matrix.T, rtol=1e-8, atol=0)
    assert all(s > 0 and math.isfinite(s) for s in found.sigma)
    assert np.allclose(np.diag(found.correlation), 1.0)
    assert found.points == weighted_residuals(fitted).size > len(values)
    assert found.reduced_chi2 > 0 and found.kind == "jacobian" and "linear approximation" in found.label
    assert [p.value for p in fitted.fit_parameters] == values
    assert fitted.simulate(recompile=False) == fom


def test_scaling_every_error_bar_leaves_the_covariance_unchanged(fitted: GenxModel) -> None:
    """Scaled by the reduced χ²: error bars all too small (or large) by one factor do not matter."""
    first = np.array(jacobian_covariance(fitted).matrix)  # type: ignore[union-attr]
    for data in fitted.model.data:
        data.error = np.asarray(data.error) * 3.0
    try:
        scaled = np.array(jacobian_covariance(fitted).matrix)  # type: ignore[union-attr]
    finally:
        for data in fitted.model.data:
            data.error = np.asarray(data.error) / 3.0
    assert np.allclose(scaled, first, rtol=1e-6)


def test_no_error_bars_no_covariance(fitted: GenxModel) -> None:
    saved = [np.asarray(d.error).copy() for d in fitted.model.data]
    for data in fitted.model.data:
        data.error = np.zeros_like(np.asarray(data.error))
    try:
        assert jacobian_covariance(fitted) is None
    finally:
        for data, error in zip(fitted.model.data, saved, strict=True):
            data.error = error
