"""One job run here through the controller: its outcome, and nothing left behind when interrupted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from metagenx.controller import embedded
from metagenx.controller.embedded import INTERRUPTED, JobOutcome, run_job, temporary_store
from metagenx.controller.loop import Listener
from metagenx.events import Event
from metagenx.executors import LocalExecutor
from metagenx.jobs import JobSpec
from metagenx.store import Job, JobState, NewJob, Store, StudyKind

ENDLESS = {"seed": 1, "max_generations": 100_000, "tolerance": 0.0, "min_spread": 0.0}


def run_here(store: Store, spec: JobSpec, folder: Path, listeners: Sequence[Listener] = ()) -> JobOutcome:
    job = NewJob.from_files(spec)
    return run_job(
        store, job, LocalExecutor(1), study="s", kind=StudyKind.FIT, directory=folder, listeners=listeners
    )


def test_a_fit_runs_to_its_outcome(superadam: Path, tmp_path: Path) -> None:
    spec = JobSpec(label="one", model_path=str(superadam), settings={"seed": 2, "max_generations": 2})
    with temporary_store() as store:
        outcome = run_here(store, spec, tmp_path)
    assert outcome.state is JobState.SUCCEEDED and outcome.result is not None
    assert outcome.result["generations"] == 2 and outcome.error_kind is None


def interrupted_state(superadam: Path, tmp_path: Path) -> tuple[JobState, str | None]:
    """Run an endless fit and interrupt the command at its first progress (a second Ctrl-C)."""

    def interrupt(event: Event) -> None:
        if event.type == "progress":
            raise KeyboardInterrupt

    spec = JobSpec(label="endless", model_path=str(superadam), settings=ENDLESS)
    with temporary_store() as store:
        with pytest.raises(KeyboardInterrupt):
            run_here(store, spec, tmp_path, [interrupt])
        with store.session() as session:
            job = session.query(Job).one()
            return job.state, job.last_error


def test_an_interrupted_run_leaves_its_job_cancelled_not_running(superadam: Path, tmp_path: Path) -> None:
    assert interrupted_state(superadam, tmp_path) == (JobState.CANCELLED, INTERRUPTED)


def test_without_the_cleanup_the_job_would_stay_running(
    superadam: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protection off: another controller on the same store (a server) would take it up."""
    monkeypatch.setattr(embedded, "cancel", lambda *args: False)
    assert interrupted_state(superadam, tmp_path)[0] is JobState.RUNNING
