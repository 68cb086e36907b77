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

from metagenx.controller.tasks import task_for
from metagenx.engine.result import FitResult
from metagenx.executors.base import Executor, ExecutorEvent
from metagenx.store import (
    EventKind,
    Job,
    JobState,
    Store,
    Study,
    add_artifact,
    cancel,
    claim_next,
    counts_by_state,
    fail,
    finish,
    record_event,
    record_progress,
    release,
    requeue_running,
)

log = logging.getLogger(__name__)

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
    """

    def __init__(self, store: Store, executor: Executor, *, worker: str | None = None) -> None:
        self.store = store
        self.executor = executor
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.events: queue.Queue[ExecutorEvent] = queue.Queue()
        self.listeners: list[Listener] = []
        self.last_progress_write: dict[int, float] = {}
        self.started = False
        self.cancellations: queue.Queue[int] = queue.Queue()

    def recover(self) -> int:
        """Re-queue jobs left running by a controller that died; return how many."""
        with self.store.session() as session:
            return len(requeue_running(session))

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
            if until_idle and self.executor.in_flight == 0 and self.idle(study_id):
                break
        if interrupted:
            self.executor.shutdown(stop_running=False, timeout=10.0)
            self.drain(timeout=0.0)
            with self.store.session() as session:
                requeue_running(session, worker=self.worker)
        with self.store.session() as session:
            counts = {state.value: n for state, n in counts_by_state(session, study_id).items()}
        return RunSummary(counts, interrupted)

    def close(self) -> None:
        self.executor.shutdown(stop_running=True)

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
                self.executor.kill(job_id)
                self.notify({"type": "cancelled", "job_id": job_id})

    def dispatch(self, study_id: int | None) -> None:
        while self.executor.in_flight < self.executor.capacity:
            with self.store.session() as session:
                job = claim_next(session, study_id, self.worker, exclude_owners=self.owners_to_skip(session))
                if job is None:
                    return
                study = session.get_one(Study, job.study_id) if job.study_id is not None else None
                directory = Path(study.directory) if study is not None and study.directory else Path.cwd()
                task = task_for(session, job, directory)
                group = f"{job.owner}/{job.study_id}"
            self.executor.submit(task, group)
            self.notify({"type": "claimed", "job_id": task.job_id})

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
        with self.store.session() as session:
            for item in batch:
                self.record(session, item)
        for item in batch:
            self.notify(item)

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
                    data={"elapsed": event.get("elapsed")},
                )
        elif kind == "started":
            record_event(
                session, job, EventKind.LOG, data={"message": f"runner pid {event.get('pid')} started"}
            )
        elif kind == "result":
            result = FitResult.from_dict(event["result"])
            if job.state in (JobState.RUNNING, JobState.CANCELLED):
                finish(session, job, result)
                for name, path in event.get("artifacts", {}).items():
                    if os.path.exists(path):
                        add_artifact(session, kind=name, path=path, size=os.path.getsize(path), job_id=job.id)
        elif kind == "error":
            if job.state == JobState.RUNNING:
                fail(session, job, str(event.get("message")), retryable=False)
        elif kind == "crashed":
            if job.state == JobState.RUNNING:
                fail(session, job, str(event.get("reason")), retryable=True)
        elif kind == "dropped":
            release(session, job, str(event.get("reason", "not started")))
        if kind in ("result", "error", "crashed"):
            self.last_progress_write.pop(job_id, None)

    def notify(self, event: ExecutorEvent) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a display must never stop the controller
                log.exception("event listener failed")
