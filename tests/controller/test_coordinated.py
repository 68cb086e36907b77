"""Solve jobs on the controller: starts share the executor; cancel and stop end them at once."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metagenx.controller import Controller
from metagenx.controller.coordinated import FACTORIES, ExecutorShare, Inbox, TaskRouter
from metagenx.errors import MetagenxError
from metagenx.events import Log
from metagenx.executors import LocalExecutor
from metagenx.executors.inprocess import InProcessExecutor
from metagenx.jobs import FitTask, JobKind, JobSpec
from metagenx.store import JobState, Store, StudyKind, open_store
from metagenx.store.models import Job
from metagenx.study.submit import submit_study

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


class RecordingExecutor:
    """Takes tasks and remembers them (the executor interface a share may use)."""

    capacity = 2

    def __init__(self) -> None:
        self.submitted: list[FitTask] = []
        self.killed: list[int] = []

    def submit(self, task: FitTask, group: str) -> None:
        self.submitted.append(task)

    def kill(self, job_id: int) -> None:
        self.killed.append(job_id)


def test_tasks_of_a_coordinated_job_are_routed_to_it_by_lookup() -> None:
    router = TaskRouter()
    executor = RecordingExecutor()
    solve, other = (ExecutorShare(executor, router, job_id) for job_id in (17, 18))  # type: ignore[arg-type]
    mine: Inbox = queue.Queue()
    task_id = solve.new_job_id(mine)
    theirs = other.new_job_id(queue.Queue())
    solve.submit(FitTask(job_id=task_id, model_path="m.hgx", settings={}), "g")
    assert executor.submitted[0].part_of == 17 and executor.submitted[0].stored_job_id == 17
    assert router.owner(task_id) == 17 and router.owner(theirs) == 18 and router.owner(17) is None
    assert router.route(Log(task_id, "hello")) and mine.get_nowait() == Log(task_id, "hello")
    assert not router.route(Log(17, "a stored job's own event")), "a stored job's events are the controller's"
    with pytest.raises(MetagenxError, match="not allotted"):
        solve.submit(FitTask(job_id=theirs, model_path="m.hgx", settings={}), "g")
    solve.kill_all()
    assert executor.killed == [task_id]
    solve.forget(task_id)
    assert router.route(Log(task_id, "late")), "a late event of an ended task is dropped, not recorded"
    assert router.owner(task_id) is None and mine.empty()
    router.forget_owner(18)
    assert router.owner(theirs) is None and router.route(Log(theirs, "late"))


def test_a_kind_no_package_registered_fails_its_job(
    store: Store, xray: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(FACTORIES, JobKind.SOLVE)
    study = solve_study(store, xray, tmp_path, {**ENDLESS_SOLVE, "solve": {"budget": 5}})
    controller = Controller(store, InProcessExecutor())
    controller.run(study)
    controller.close()
    job = the_job(store, study)
    assert job.state is JobState.FAILED and "cannot run solve jobs" in (job.last_error or "")


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
