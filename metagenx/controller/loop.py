"""The controller loop: claim queued jobs, hand them to the executor, record what comes back."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from metagenx.controller.coordinated import (
    CoordinatedJob,
    Coordinator,
    ExecutorShare,
    TaskRouter,
    coordinator_for,
)
from metagenx.controller.faults import StorageFault, storage_problem, writable
from metagenx.controller.tasks import task_for
from metagenx.controller.writes import relink_after_failure
from metagenx.errors import MetagenxError
from metagenx.events import (
    Cancelled,
    Claimed,
    Crashed,
    Dropped,
    Event,
    ExecutorEvent,
    Failed,
    Finished,
    Log,
    Progress,
    Requeued,
    Snapshot,
    Started,
    TuneFinished,
    Violation,
    is_terminal,
)
from metagenx.executors.base import Executor
from metagenx.jobs import FitTask, JobKind
from metagenx.outputs.collect import TUNE_OUTPUTS, collect, fit_outputs
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
    finish_with,
    record_event,
    record_progress,
    release,
    requeue_running,
)

log = logging.getLogger(__name__)


class Wake:
    """Not an event: it only ends the controller's wait for events (see :meth:`Controller.wake`)."""


WAKE = Wake()
PROGRESS_WRITE_INTERVAL = 1.0
"""Seconds between progress rows written per job (every event still reaches listeners)."""
CANCEL_GRACE = 10.0
"""Seconds a cancelled running job has to stop after its generation and hand in its best result so
far (kept with the cancelled job); then its runner is killed."""
ABORT_WAIT = 1.5
"""Seconds an interrupted controller waits for the killed fits' threads before it re-queues their jobs."""


@dataclass
class RunSummary:
    """Counts of the study's jobs by state when the controller stopped, and whether it was interrupted."""

    counts: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False


Listener = Callable[[Event], None]


class Controller:
    """Runs the queued jobs of one study (or all studies) on an executor and records the outcomes.

    ``run`` drives everything from the calling thread. Other threads may call
    :meth:`request_cancel` and add ``listeners`` (called on the controller's thread with
    every executor event, after it is recorded).

    Solve and tune jobs run on coordinator threads (:mod:`metagenx.controller.coordinated`)
    whose fit tasks share the executor; their events are routed to them, not recorded.
    ``max_solve_budget`` caps a solve job's budget, s. A job's files are found in its own
    folder under fixed names (:mod:`metagenx.outputs.collect`), each at most ``output_limit``
    bytes (None: no limit); no event names them.
    """

    def __init__(
        self,
        store: Store,
        executor: Executor,
        *,
        worker: str | None = None,
        max_solve_budget: float | None = None,
        output_limit: int | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.events: queue.Queue[ExecutorEvent | Wake] = queue.Queue()
        self.listeners: list[Listener] = []
        self.last_progress_write: dict[int, float] = {}
        self.started = False
        self.cancellations: queue.Queue[int] = queue.Queue()
        self.coordinators: dict[int, Coordinator] = {}
        self.router = TaskRouter()
        self.max_solve_budget = max_solve_budget
        self.output_limit = output_limit
        self.outputs: dict[int, Path] = {}
        """The fitted model file each running job writes (its other files go beside it)."""
        self.kill_at: dict[int, float] = {}
        """Cancelled running jobs: when to kill them if they have not handed in their result."""
        self.stopping = False
        """Set when interrupted: nothing the executor reports is recorded any more; the jobs that
        were running are re-queued, uncharged."""
        self.pending: list[ExecutorEvent] = []
        """Events taken from the executor and not yet recorded (kept through a storage fault)."""
        self.tasks: set[int] = set()
        """Jobs whose task is with the executor or a coordinator (until its last event is recorded)."""
        self.requeued: list[Requeued] = []
        """Jobs the events being recorded queued again, told to the listeners once recorded."""
        self.fault: StorageFault | None = None
        """The storage fault in progress, if any (see :mod:`metagenx.controller.faults`)."""

    def recover(self) -> int:
        """Re-queue jobs left running by a controller that died; return how many."""
        with self.store.session() as session:
            return len(requeue_running(session))

    def wake(self) -> None:
        """Look for queued jobs now rather than within the next moment (thread-safe): a job was queued."""
        self.events.put(WAKE)

    def request_cancel(self, job_id: int) -> None:
        """Cancel a job (thread-safe): queued, it never runs; running, it stops after its generation
        and keeps its best result so far (marked incomplete), or is killed after :data:`CANCEL_GRACE` s."""
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

        On ``stop`` the results already in are recorded, then the running fits are killed at
        once and their jobs re-queued without being charged an attempt (nothing cut short is
        recorded), so running the same command again redoes exactly those fits.
        """
        if not self.started:
            self.executor.start(self.events.put)
            self.started = True
        interrupted = False
        while True:
            if stop is not None and stop.is_set():
                interrupted = True
                break
            if self.fault is not None:  # take no job and write nothing until storage works again
                self.take_events(timeout=0.2)
                self.recover_storage()
                continue
            try:
                self.apply_cancellations()
                self.dispatch(study_id)
                self.drain(timeout=0.2)
                if (
                    until_idle
                    and self.executor.in_flight == 0
                    and not self.coordinators
                    and self.idle(study_id)
                ):
                    break
            except DBAPIError as exc:
                self.storage_failed(exc)
        if interrupted:
            self.abort()
        with self.store.session() as session:
            counts = {state.value: n for state, n in counts_by_state(session, study_id).items()}
        return RunSummary(counts, interrupted)

    def abort(self) -> None:
        """Keep what ended, kill what runs, re-queue it uncharged; nothing cut short is recorded."""
        self.drain(timeout=0.0)
        self.stopping = True
        self.abandon_coordinators()
        self.executor.shutdown(stop_running=False, timeout=ABORT_WAIT)
        self.discard_events()
        with self.store.session() as session:
            requeue_running(session, worker=self.worker)

    def discard_events(self) -> None:
        """Drop what the executor reported after the interruption (the ends of killed fits)."""
        while True:
            try:
                self.events.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        """End the executor; a fit still running (a second Ctrl-C) is killed, and its job stays
        running in the store for the next controller to re-queue, uncharged."""
        self.abandon_coordinators()
        self.executor.shutdown(stop_running=False, timeout=ABORT_WAIT)

    def abandon_coordinators(self) -> None:
        """End every solve and tune at once; their jobs stay running in the store (to re-queue)."""
        for coordinator in self.coordinators.values():
            coordinator.abandon()
        for coordinator in self.coordinators.values():
            coordinator.join(5.0)
            self.router.forget_owner(coordinator.job_id)
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
                coordinator = self.coordinators.get(job_id)
                if coordinator is not None:
                    coordinator.stop()  # a solve ends with its best answer so far
                else:
                    self.executor.stop(job_id)  # queued in the executor: dropped; running: stops
                self.kill_at[job_id] = time.monotonic() + CANCEL_GRACE
                self.notify(Cancelled(job_id))
        self.kill_overdue()

    def kill_overdue(self) -> None:
        """Kill the cancelled jobs that did not stop within :data:`CANCEL_GRACE` s."""
        now = time.monotonic()
        for job_id, deadline in list(self.kill_at.items()):
            if now < deadline:
                continue
            del self.kill_at[job_id]
            coordinator = self.coordinators.pop(job_id, None)
            if coordinator is not None:
                coordinator.abandon()
                self.router.forget_owner(job_id)
            else:
                self.executor.kill(job_id)

    def dispatch(self, study_id: int | None) -> None:
        """Hand queued jobs to the executor while it has room (none once stopping)."""
        while not self.stopping and self.busy() < self.executor.capacity:
            with self.store.session() as session:
                job = claim_next(session, study_id, self.worker, exclude_owners=self.owners_to_skip(session))
                if job is None:
                    return
                study = session.get_one(Study, job.study_id) if job.study_id is not None else None
                directory = Path(study.directory) if study is not None and study.directory else Path.cwd()
                task = task_for(session, job, directory)
                group = f"{job.owner}/{job.study_id}"
                kind = job.kind
                settings = dict(job.settings)
            if task.output is not None:
                self.outputs[task.job_id] = Path(task.output)
            self.tasks.add(task.job_id)
            if kind is JobKind.FIT:
                self.executor.submit(task, group)
            else:
                self.start_coordinator(kind, task, settings, group)
            self.notify(Claimed(task.job_id))

    def start_coordinator(self, kind: JobKind, task: FitTask, settings: dict[str, Any], group: str) -> None:
        """Run a solve or tune job on a coordinator thread (a kind it cannot run fails at once)."""
        share = ExecutorShare(self.executor, self.router, task.job_id)
        job = CoordinatedJob(task, settings, group, share, self.events.put, self.store, self.max_solve_budget)
        try:
            coordinator = coordinator_for(kind, job)
        except MetagenxError as exc:
            self.events.put(Failed(task.job_id, type(exc).__name__, str(exc)))
            return
        self.coordinators[task.job_id] = coordinator
        coordinator.start()

    def busy(self) -> int:
        """Slots taken: fit tasks in flight, and coordinators about to submit their first."""
        return self.executor.in_flight + sum(1 for c in self.coordinators.values() if c.waiting_to_submit)

    def owners_to_skip(self, session: Any) -> set[str]:
        """Owners whose queued jobs must wait for now (e.g. at a limit of running fits); none here."""
        return set()

    def finished(self, study_id: int | None) -> bool:
        """Nothing of the study is in flight here, queued or running in the store."""
        return self.executor.in_flight == 0 and not self.coordinators and self.idle(study_id)

    def idle(self, study_id: int | None) -> bool:
        with self.store.session() as session:
            counts = counts_by_state(session, study_id)
        return counts.get(JobState.QUEUED, 0) == 0 and counts.get(JobState.RUNNING, 0) == 0

    # -- recording ---------------------------------------------------------------------
    def drain(self, timeout: float) -> None:
        """Record every event waiting (waiting up to ``timeout`` s for the first), then tell the
        listeners. Events that cannot be recorded for a storage fault are kept (:attr:`pending`)
        and :class:`DBAPIError` is raised."""
        self.take_events(timeout)
        self.record_pending()

    def take_events(self, timeout: float) -> None:
        """Move the executor's events (waiting up to ``timeout`` s for the first) to :attr:`pending`;
        coordinated jobs' events go to their coordinators."""
        try:
            first = self.events.get(timeout=timeout) if timeout > 0 else self.events.get_nowait()
        except queue.Empty:
            return
        waiting = [first]
        while True:
            try:
                waiting.append(self.events.get_nowait())
            except queue.Empty:
                break
        for item in waiting:
            if isinstance(item, Wake) or self.route(item):
                continue
            if self.fault is not None and isinstance(item, Progress | Snapshot):
                # while nothing can be written, only each job's latest progress and snapshot are worth keeping
                self.pending = [
                    e for e in self.pending if not (type(e) is type(item) and e.job_id == item.job_id)
                ]
            self.pending.append(item)

    def record_pending(self) -> None:
        """Record :attr:`pending` in order; what is recorded is told to the listeners."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        self.requeued = []
        try:
            with self.store.session() as session:
                for item in batch:
                    self.record(session, item)
            done = batch
        except DBAPIError:
            self.pending = batch + self.pending
            raise
        except Exception:  # one bad event must never stop the controller: find it, fail its job
            log.exception("recording a batch of %d events failed; recording them one by one", len(batch))
            done = self.record_one_by_one(batch)
        for item in done:
            if is_terminal(item):
                self.forget(item.job_id)
            self.notify(item)
        for requeued in self.requeued:
            self.notify(requeued)

    def record_one_by_one(self, batch: list[ExecutorEvent]) -> list[ExecutorEvent]:
        """Record each event in a transaction of its own; fail the jobs whose events cannot be.
        Returns the events dealt with; on a storage fault the rest stays pending."""
        broken: dict[int, str] = {}
        self.requeued = []  # those of the batch's transaction were rolled back with it
        for index, item in enumerate(batch):
            try:
                with self.store.session() as session:
                    self.record(session, item)
            except DBAPIError:
                self.pending = batch[index:] + self.pending
                if broken:
                    self.fail_unrecorded(broken)
                raise
            except Exception as exc:
                log.exception("job %s: could not record a %r event", item.job_id, item.type)
                broken[item.job_id] = f"metagenx could not record its {item.type!r} event: {exc}"
        if broken:
            self.fail_unrecorded(broken)
        return batch

    def task_running(self, job_id: int) -> bool:
        """Whether a task of ``job_id`` has not ended yet: a cancelled fit may still be handing in
        its best result and writing its files (any thread may ask)."""
        return job_id in self.tasks

    def forget(self, job_id: int) -> None:
        """Drop what the controller kept about a job whose task ended."""
        self.tasks.discard(job_id)
        self.last_progress_write.pop(job_id, None)
        if self.coordinators.pop(job_id, None) is not None:
            self.router.forget_owner(job_id)
        self.outputs.pop(job_id, None)
        self.kill_at.pop(job_id, None)

    # -- storage faults ----------------------------------------------------------------
    def storage_failed(self, error: Exception, folder: Path | None = None) -> None:
        """Enter (or stay in) a storage fault: take no job, keep events, retry later."""
        text = str(getattr(error, "orig", None) or error)
        reason = storage_problem(text) or f"the job store failed: {' '.join(text.split())[:300]}"
        if self.fault is None:
            self.fault = StorageFault(reason, folder)
            log.error("storage fault: %s", self.fault.describe())
        else:
            self.fault.failed_again()

    def recover_storage(self) -> None:
        """Try again, when due: a job folder must take a probe file, the store the pending events."""
        fault = self.fault
        if fault is None or not fault.due():
            return
        if fault.folder is not None and not writable(fault.folder):
            fault.failed_again()
            return
        self.fault = None
        try:
            self.record_pending()
        except DBAPIError as exc:
            self.fault = fault
            self.storage_failed(exc)
            return
        log.warning("storage works again after: %s", fault.reason)

    def fail_unrecorded(self, reasons: Mapping[int, str]) -> None:
        """Fail the running jobs whose events could not be recorded (with the reason)."""
        with self.store.session() as session:
            for job_id, reason in reasons.items():
                job = session.get(Job, job_id)
                if job is not None and job.state == JobState.RUNNING:
                    fail(session, job, reason, retryable=False)

    def route(self, event: ExecutorEvent) -> bool:
        """Hand an event of a coordinated job's fit task to its coordinator; False for others."""
        return self.router.route(event)

    def record(self, session: Any, event: ExecutorEvent) -> None:
        """Store what ``event`` says about its job (the job is the one the event was bound to).

        Nothing is recorded once stopping: the jobs that ran are re-queued, uncharged.
        """
        if self.stopping:
            return
        job = session.get(Job, event.job_id)
        if job is None:
            return
        match event:
            case Progress():
                self.record_progress(session, job, event)
            case Started(pid=pid):
                record_event(session, job, EventKind.LOG, data={"message": f"runner pid {pid} started"})
            case Finished(result=result) if job.state == JobState.RUNNING and not result.complete:
                release(session, job, "interrupted: the fit was stopped before it ended; it runs again")
            case Finished(result=result, stop_reason=stop_reason):
                if job.state in (JobState.RUNNING, JobState.CANCELLED):
                    finish(session, job, dataclasses.replace(result, model_path=job.model_path))
                    if stop_reason is not None:  # a solve's, rather than its best fit's
                        job.stop_reason = stop_reason
                    self.add_artifacts(session, job, False)
            case TuneFinished(report=report, stop_reason=stop_reason):
                if job.state in (JobState.RUNNING, JobState.CANCELLED):
                    finish_with(session, job, report, fom=None, stop_reason=stop_reason)
                    self.add_artifacts(session, job, True)
            case Log(message=message):
                record_event(session, job, EventKind.LOG, data={"message": message})
            case Failed(kind="OutputError", message=message) if storage_problem(message):
                if job.state == JobState.RUNNING:
                    release(
                        session, job, f"waiting: {storage_problem(message)}; it runs again when it can write"
                    )
                    folder = self.outputs.get(job.id)
                    self.storage_failed(OSError(message), folder.parent.parent if folder else None)
            case Failed(message=message):
                if job.state == JobState.RUNNING:
                    self.fail(session, job, message, retryable=False)
            case Crashed(reason=reason):
                if job.state == JobState.RUNNING:
                    self.fail(session, job, reason, retryable=True)
            case Violation(reason=reason):
                record_event(session, job, EventKind.SECURITY, data={"message": reason})
                if job.state == JobState.RUNNING:
                    self.fail(session, job, f"stopped: {reason}", retryable=False)
            case Dropped(reason=reason):
                release(session, job, reason)

    def fail(self, session: Any, job: Job, reason: str, *, retryable: bool) -> None:
        """Fail ``job`` (or re-queue it, when ``retryable`` and its crash budget allows); a watch's
        later files that were to start from it start from an earlier file instead."""
        fail(session, job, reason, retryable=retryable)
        self.requeued.extend(
            Requeued(j.id, j.label or f"job-{j.id}") for j in relink_after_failure(session, job)
        )

    def record_progress(self, session: Any, job: Job, event: Progress) -> None:
        """Store a progress report, at most one per :data:`PROGRESS_WRITE_INTERVAL` per job."""
        now = time.monotonic()
        if now - self.last_progress_write.get(job.id, 0.0) < PROGRESS_WRITE_INTERVAL:
            return
        self.last_progress_write[job.id] = now
        status = {} if event.solve is None else {"solve": dataclasses.asdict(event.solve)}
        if event.sampling is not None:
            status["sampling"] = dataclasses.asdict(event.sampling)
        record_progress(
            session,
            job,
            generation=event.generation,
            best_fom=math.nan if event.best_fom is None else event.best_fom,
            evaluations=event.evaluations,
            data={"elapsed": event.elapsed} | status,
        )

    def add_artifacts(self, session: Any, job: Job, tune: bool) -> None:
        """Record the job's files found in its folder under their fixed names; report any refused."""
        model_out = self.outputs.get(job.id)
        if model_out is None:
            return
        names = TUNE_OUTPUTS if tune else fit_outputs(model_out)
        found = collect(model_out.parent, names, self.output_limit)
        for kind, path in found.files.items():
            add_artifact(session, kind=kind, path=str(path), size=path.stat().st_size, job_id=job.id)
        for refused in found.refused:
            record_event(session, job, EventKind.SECURITY, data={"message": f"output refused: {refused}"})

    def notify(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a display must never stop the controller
                log.exception("event listener failed")


def same_progress(event: ExecutorEvent, other: Progress) -> bool:
    """Whether ``event`` is a progress report of the same job as ``other`` (which supersedes it)."""
    return isinstance(event, Progress) and event.job_id == other.job_id
