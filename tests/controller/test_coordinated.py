"""Solve jobs on the controller: starts share the executor; cancel and stop end them at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metagenx.controller import Controller, submit_study
from metagenx.controller.coordinated import TASK_BASE, owning_job_id
from metagenx.executors import LocalExecutor
from metagenx.jobs import JobKind, JobSpec
from metagenx.store import JobState, Store, StudyKind, open_store
from metagenx.store.models import Job

ENDLESS_SOLVE = {
    "seed": 1,
    "max_generations": 100_000,
    "tolerance": 0.0,
    "window": 1000,
    "solve": {"budget": 300, "max_starts": 50},
}
"""A solve whose starts run until they are stopped."""


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(db_url, tmp_path)
    yield opened
    opened.close()


def solve_study(store: Store, model: Path, directory: Path, settings: dict[str, Any]) -> int:
    spec = JobSpec(label="solve", model_path=str(model), settings=settings, kind=JobKind.SOLVE)
    return submit_study(
        store, project="p", name="solve", kind=StudyKind.FIT, specs=[spec], directory=directory
    )


def the_job(store: Store, study_id: int) -> Job:
    with store.session() as session:
        job = session.query(Job).filter(Job.study_id == study_id).one()
        session.expunge(job)
        return job


def test_task_ids_of_a_coordinated_job_lead_back_to_it() -> None:
    assert owning_job_id(17) == 17
    first = TASK_BASE + 17 * (1 << 20)
    assert owning_job_id(first) == 17 and owning_job_id(first + 5) == 17


def running_starts(controller: Controller, started: threading.Event) -> None:
    """Set ``started`` once the solve has reported progress (its starts are running)."""
    controller.listeners.append(lambda e: started.set() if e.type == "progress" else None)


def test_cancelling_a_solve_kills_its_starts_at_once(store: Store, xray: Path, tmp_path: Path) -> None:
    study = solve_study(store, xray, tmp_path, ENDLESS_SOLVE)
    executor = LocalExecutor(workers=2)
    controller = Controller(store, executor)
    started = threading.Event()
    running_starts(controller, started)
    job_id = the_job(store, study).id

    def cancel_when_running() -> None:
        assert started.wait(60)
        assert executor.in_flight == 2, "the solve's starts fill both slots"
        controller.request_cancel(job_id)

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    begun = time.monotonic()
    summary = controller.run(study)
    canceller.join()
    assert time.monotonic() - begun < 60
    assert {k: n for k, n in summary.counts.items() if n} == {"cancelled": 1}
    deadline = time.monotonic() + 10
    while executor.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    assert executor.in_flight == 0 and not controller.coordinators
    controller.close()


def test_stopping_the_controller_requeues_a_running_solve(store: Store, xray: Path, tmp_path: Path) -> None:
    study = solve_study(store, xray, tmp_path, ENDLESS_SOLVE)
    controller = Controller(store, LocalExecutor(workers=1))
    started = threading.Event()
    running_starts(controller, started)
    stop = threading.Event()
    threading.Thread(target=lambda: started.wait(60) and stop.set()).start()
    summary = controller.run(study, stop)
    controller.close()
    assert summary.interrupted and {k: n for k, n in summary.counts.items() if n} == {"queued": 1}
    job = the_job(store, study)
    assert job.state == JobState.QUEUED and job.attempts == 0, "an interrupted solve is not charged"
