"""The controller loop: claim queued jobs, hand them to the executor, record what comes back."""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metagenx.controller.coordinated import Coordinator, coordinator_for, owning_job_id
from metagenx.controller.tasks import task_for
from metagenx.engine.result import FitResult
from metagenx.executors.base import Executor, ExecutorEvent
from metagenx.store import (
    EventKind,
    Job,
    JobState,
    Store,
    Study,
    StudyKind,
    add_artifact,
    cancel,
    claim_next,
    counts_by_state,
    fail,
    finish,
    finish_with,
    record_event,
    record_progress,
    release,
    requeue_running,
)

log = logging.getLogger(__name__)

WAKE = "wake"
"""An event that only ends the controller's wait for events (see :meth:`Controller.wake`)."""
PROGRESS_WRITE_INTERVAL = 1.0
"""Seconds between progress rows written per job (every event still reaches listeners)."""


@dataclass
class RunSummary:
    """Counts of the study's jobs by state when the controller stopped, and whether it was interrupted."""

    counts: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False


Listener = Callable[[ExecutorEvent], None]


class Controller:
    """Runs the queued jobs of one study (or all studies) on an executor and records the outcomes.

    ``run`` drives everything from the calling thread. Other threads may call
    :meth:`request_cancel` and add ``listeners`` (called on the controller's thread with
    every executor event, after it is recorded).

    Solve and tune jobs run on coordinator threads (:mod:`metagenx.controller.coordinated`)
    whose fit tasks share the executor; their events are routed to them, not recorded.
    ``max_solve_budget`` caps a solve job's budget, s.
    """

    def __init__(
        self,
        store: Store,
        executor: Executor,
        *,
        worker: str | None = None,
        max_solve_budget: float | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.events: queue.Queue[ExecutorEvent] = queue.Queue()
        self.listeners: list[Listener] = []
        self.last_progress_write: dict[int, float] = {}
        self.started = False
        self.cancellations: queue.Queue[int] = queue.Queue()
        self.coordinators: dict[int, Coordinator] = {}
        self.max_solve_budget = max_solve_budget

    def recover(self) -> int:
        """Re-queue jobs left running by a controller that died; return how many."""
        with self.store.session() as session:
            return len(requeue_running(session))

    def wake(self) -> None:
        """Look for queued jobs now rather than within the next moment (thread-safe): a job was queued."""
        self.events.put({"type": WAKE})

    def request_cancel(self, job_id: int) -> None:
        """Cancel a job (thread-safe): queued, it never runs; running, its runner is killed."""
        self.cancellations.put(job_id)

    def run(
        self,
        study_id: int | None = None,
        stop: threading.Event | None = None,
        *,
        until_idle: bool = True,
    ) -> RunSummary:
        """Run until no job of the study (None: of any study) is queued or running, or until
        ``stop`` is set; with ``until_idle=False`` (a server) only ``stop`` ends it.

        On ``stop`` the running fits are killed and their jobs re-queued without being
        charged an attempt, so running the same command again resumes exactly.
        """
        if not self.started:
            self.executor.start(self.events.put)
            self.started = True
        interrupted = False
        while True:
            if stop is not None and stop.is_set():
                interrupted = True
                break
            self.apply_cancellations()
            self.dispatch(study_id)
            self.drain(timeout=0.2)
            if until_idle and self.executor.in_flight == 0 and not self.coordinators and self.idle(study_id):
                break
        if interrupted:
            self.abandon_coordinators()
            self.executor.shutdown(stop_running=False, timeout=10.0)
            self.drain(timeout=0.0)
            with self.store.session() as session:
                requeue_running(session, worker=self.worker)
        with self.store.session() as session:
            counts = {state.value: n for state, n in counts_by_state(session, study_id).items()}
        return RunSummary(counts, interrupted)

    def close(self) -> None:
        self.abandon_coordinators()
        self.executor.shutdown(stop_running=True)

    def abandon_coordinators(self) -> None:
        """End every solve and tune at once; their jobs stay running in the store (to re-queue)."""
        for coordinator in self.coordinators.values():
            coordinator.abandon()
        for coordinator in self.coordinators.values():
            coordinator.join(5.0)
        self.coordinators.clear()

    # -- scheduling --------------------------------------------------------------------
    def apply_cancellations(self) -> None:
        while True:
            try:
                job_id = self.cancellations.get_nowait()
            except queue.Empty:
                return
            with self.store.session() as session:
                cancelled = cancel(session, job_id)
            if cancelled:
                coordinator = self.coordinators.pop(job_id, None)
                if coordinator is not None:
                    coordinator.abandon()
                else:
                    self.executor.kill(job_id)
                self.notify({"type": "cancelled", "job_id": job_id})

    def dispatch(self, study_id: int | None) -> None:
        while self.busy() < self.executor.capacity:
            with self.store.session() as session:
                job = claim_next(session, study_id, self.worker, exclude_owners=self.owners_to_skip(session))
                if job is None:
                    return
                study = session.get_one(Study, job.study_id) if job.study_id is not None else None
                directory = Path(study.directory) if study is not None and study.directory else Path.cwd()
                task = task_for(session, job, directory)
                group = f"{job.owner}/{job.study_id}"
                tune = study is not None and study.kind == StudyKind.TUNE
                settings = dict(job.settings)
            coordinator = coordinator_for(
                task,
                settings,
                tune=tune,
                group=group,
                executor=self.executor,
                emit=self.events.put,
                max_budget=self.max_solve_budget,
                tune_storage=self.tune_storage,
            )
            if coordinator is None:
                self.executor.submit(task, group)
            else:
                self.coordinators[task.job_id] = coordinator
                coordinator.start()
            self.notify({"type": "claimed", "job_id": task.job_id})

    def busy(self) -> int:
        """Slots taken: fit tasks in flight, and coordinators about to submit their first."""
        return self.executor.in_flight + sum(1 for c in self.coordinators.values() if c.waiting_to_submit)

    def tune_storage(self) -> Any:
        """The Optuna storage of tune jobs: beside this controller's job store."""
        from metagenx.solve.tune_storage import open_tune_storage

        return open_tune_storage(self.store)

    def owners_to_skip(self, session: Any) -> set[str]:
        """Owners whose queued jobs must wait for now (e.g. at a limit of running fits); none here."""
        return set()

    def idle(self, study_id: int | None) -> bool:
        with self.store.session() as session:
            counts = counts_by_state(session, study_id)
        return counts.get(JobState.QUEUED, 0) == 0 and counts.get(JobState.RUNNING, 0) == 0

    # -- recording ---------------------------------------------------------------------
    def drain(self, timeout: float) -> None:
        """Record every event waiting (waiting up to ``timeout`` s for the first)."""
        try:
            event = self.events.get(timeout=timeout) if timeout > 0 else self.events.get_nowait()
        except queue.Empty:
            return
        batch = [event]
        while True:
            try:
                batch.append(self.events.get_nowait())
            except queue.Empty:
                break
        batch = [item for item in batch if item.get("type") != WAKE and not self.route(item)]
        if not batch:
            return
        with self.store.session() as session:
            for item in batch:
                self.record(session, item)
        for item in batch:
            self.notify(item)

    def route(self, event: ExecutorEvent) -> bool:
        """Hand an event of a coordinated job's fit task to its coordinator; False for others."""
        task_id = event.get("job_id")
        if not isinstance(task_id, int) or owning_job_id(task_id) == task_id:
            return False
        coordinator = self.coordinators.get(owning_job_id(task_id))
        if coordinator is not None:
            coordinator.dispatch.route(event)
        return True

    def record(self, session: Any, event: ExecutorEvent) -> None:
        kind = event.get("type")
        job_id = int(event["job_id"]) if "job_id" in event else None
        if job_id is None:
            return
        job = session.get(Job, job_id)
        if job is None:
            return
        if kind == "progress":
            now = time.monotonic()
            if now - self.last_progress_write.get(job_id, 0.0) >= PROGRESS_WRITE_INTERVAL:
                self.last_progress_write[job_id] = now
                record_progress(
                    session,
                    job,
                    generation=int(event["generation"]),
                    best_fom=float(event["best_fom"]),
                    evaluations=int(event["evaluations"]),
                    data={"elapsed": event.get("elapsed")}
                    | ({"solve": event["solve"]} if "solve" in event else {}),
                )
        elif kind == "started":
            record_event(
                session, job, EventKind.LOG, data={"message": f"runner pid {event.get('pid')} started"}
            )
        elif kind == "result":
            result = FitResult.from_dict(event["result"])
            if job.state in (JobState.RUNNING, JobState.CANCELLED):
                finish(session, job, result)
                if "stop_reason" in event:  # a solve's, rather than its best fit's
                    job.stop_reason = str(event["stop_reason"])
                self.add_artifacts(session, job, event)
        elif kind == "tune":
            if job.state in (JobState.RUNNING, JobState.CANCELLED):
                finish_with(
                    session, job, event["result"], fom=event.get("fom"), stop_reason=event["stop_reason"]
                )
                self.add_artifacts(session, job, event)
        elif kind == "log":
            record_event(session, job, EventKind.LOG, data={"message": str(event.get("message"))})
        elif kind == "error":
            if job.state == JobState.RUNNING:
                fail(session, job, str(event.get("message")), retryable=False)
        elif kind == "crashed":
            if job.state == JobState.RUNNING:
                fail(session, job, str(event.get("reason")), retryable=True)
        elif kind == "dropped":
            release(session, job, str(event.get("reason", "not started")))
        if kind in ("result", "error", "crashed", "tune"):
            self.last_progress_write.pop(job_id, None)
            self.coordinators.pop(job_id, None)

    @staticmethod
    def add_artifacts(session: Any, job: Job, event: ExecutorEvent) -> None:
        for name, path in event.get("artifacts", {}).items():
            if os.path.exists(path):
                add_artifact(session, kind=name, path=path, size=os.path.getsize(path), job_id=job.id)

    def notify(self, event: ExecutorEvent) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a display must never stop the controller
                log.exception("event listener failed")
