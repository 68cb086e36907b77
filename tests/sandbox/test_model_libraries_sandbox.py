"""Every GenX model library fits in the sandbox."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from metagenx.events import Finished
from metagenx.jobs import FitTask
from metagenx.sandbox import SandboxedRunnerProcess, SandboxPolicy
from tests.model_libraries import LIBRARIES, library_model

SHORT_FIT = {"seed": 1, "max_generations": 2, "population": 10}


@pytest.fixture(scope="module")
def runners(policy: SandboxPolicy) -> Iterator[dict[str, SandboxedRunnerProcess]]:
    """A warm sandbox for the libraries (one of its own for sxrd_mult: GenX mixes up the classes
    of sxrd and sxrd_mult once one process has loaded both)."""
    shared, apart = SandboxedRunnerProcess(policy), SandboxedRunnerProcess(policy)
    yield {library: apart if library == "sxrd_mult" else shared for library in LIBRARIES}
    shared.close()
    apart.close()


@pytest.mark.parametrize("library", LIBRARIES)
def test_every_model_library_fits_in_the_sandbox(
    runners: dict[str, SandboxedRunnerProcess], library: str, tmp_path: Path
) -> None:
    model = library_model(library, tmp_path)
    task = FitTask(
        job_id=LIBRARIES.index(library) + 1,
        model_path=str(model),
        settings=SHORT_FIT,
        output=str(tmp_path / "jobs" / "00001-fit" / f"{library}.hgx"),
    )
    outcome = runners[library].run(task, lambda message: None)
    assert outcome.ok, outcome.message
    assert isinstance(outcome.message, Finished)
    assert outcome.message.result.generations == SHORT_FIT["max_generations"]
    assert math.isfinite(outcome.message.result.fom)
