"""One real fit of a GenX example, shared by the output tests, and its written outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings
from metagenx.outputs import OutputFiles, write_outputs


@pytest.fixture(scope="session")
def fitted(superadam: Path) -> tuple[GenxModel, FitResult]:
    """SuperAdam_SiO fitted for 3 generations (seed 1); the model holds the fitted values."""
    model = GenxModel.load(superadam)
    result = run_fit(model, FitSettings(seed=1, max_generations=3))
    return model, result


@pytest.fixture(scope="session")
def result(fitted: tuple[GenxModel, FitResult]) -> FitResult:
    return fitted[1]


@pytest.fixture(scope="session")
def written(fitted: tuple[GenxModel, FitResult], tmp_path_factory: pytest.TempPathFactory) -> OutputFiles:
    """The outputs of :func:`fitted`, written once to a fresh folder."""
    model, result = fitted
    return write_outputs(model, result, tmp_path_factory.mktemp("outputs") / "SuperAdam_SiO_fitted.hgx")
