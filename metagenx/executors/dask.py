"""The ``dask`` executor: fits run on the workers of a Dask cluster; this process stays the controller.

Each fit is one Dask task (:func:`metagenx.executors.dask_task.run_fit_task`) that supervises
a warm runner child on its worker. Messages come back on a Dask topic; the terminal event
comes from the task's future, once per submission. Dask never retries a fit: a lost worker
is reported as ``crashed`` so the job store counts the attempt. A lost scheduler re-queues
every fit in flight as ``dropped`` (not charged), and the executor reconnects — or, with
``fallback_local``, carries on with a :class:`~metagenx.executors.local.LocalExecutor`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metagenx.events import Crashed, Dropped, ExecutorEvent, Started, TaskEnd, Violation
from metagenx.executors.base import EventSink, Executor
from metagenx.executors.dask_connect import GENX_PACKAGE
from metagenx.executors.dask_events import (
    batch_job_label,
    decode_update,
    future_outcome,
    lost_keys,
    worker_lost_reason,
    worker_report,
)
from metagenx.executors.dask_link import SchedulerLink
from metagenx.executors.dask_task import batch_job, installed_version, request_stop, run_fit_task
from metagenx.executors.local import LocalExecutor
from metagenx.jobs import FitTask
from metagenx.runner.process import RunnerProcess

if TYPE_CHECKING:
    from metagenx.sandbox import SandboxPolicy

log = logging.getLogger(__name__)


@dataclass
class Submission:
    """One fit handed to Dask: its unique task key, its future, and its worker once started."""

    key: str
    future: Any = None
    worker: str | None = None
    stop_requested: bool = False


class DaskExecutor(Executor):
    """Runs fits on the Dask cluster whose scheduler listens at ``scheduler`` (``tcp://HOST:8786``).

    ``connect_timeout`` (s) bounds :meth:`start` on an unreachable scheduler. ``capacity`` is
    the number of worker threads, at least ``min_capacity`` (so that an adaptive cluster with
    no worker yet gets work and scales up). After losing the scheduler the executor reconnects
    for up to ``reconnect_timeout`` s (None: forever), then ``capacity`` raises
    :class:`~metagenx.executors.dask_connect.ExecutorUnavailableError`; with ``fallback_local``
    it runs the rest on ``fallback_workers`` local processes instead. ``progress_interval`` (s)
    throttles progress messages per fit; ``security`` is a ``distributed.security.Security`` (TLS).
    With ``sandbox`` (a :class:`~metagenx.sandbox.SandboxPolicy`) every fit runs in a sandbox on its
    worker, which then needs bubblewrap and root, like a server (see docs/security.md).
    """

    def __init__(
        self,
        scheduler: str,
        *,
        connect_timeout: float = 5.0,
        min_capacity: int = 1,
        reconnect_timeout: float | None = 600.0,
        fallback_local: bool = False,
        fallback_workers: int | None = None,
        progress_interval: float = 1.0,
        security: Any = None,
        sandbox: SandboxPolicy | None = None,
    ) -> None:
        self.address = scheduler
        self.sandbox = sandbox
        self.min_capacity = max(1, min_capacity)
        self.fallback_local = fallback_local
        self.fallback_workers = fallback_workers
        self.progress_interval = progress_interval
        self.topic = f"metagenx-{uuid.uuid4().hex[:16]}"
        self.expected = {name: installed_version(name) for name in ("metagenx", GENX_PACKAGE)}
        self.link = SchedulerLink(
            scheduler,
            {self.topic: self.on_message, "all": self.on_cluster_event},
            self.on_lost,
            connect_timeout=connect_timeout,
            reconnect_timeout=reconnect_timeout,
            security=security,
        )
        self.lock = threading.RLock()
        self.jobs: dict[int, Submission] = {}
        self.numbers = itertools.count(1)
        self.local: LocalExecutor | None = None
        self.batch_jobs: dict[str, str | None] = {}
        """Worker address → the batch job it runs in (``"Slurm job 12"``), to name a lost worker by it."""
        self.sink: EventSink | None = None
        self.closing = threading.Event()
        self.control = ThreadPoolExecutor(1, thread_name_prefix="metagenx-dask-control")

    # -- the Executor interface ----------------------------------------------------------
    @property
    def capacity(self) -> int:
        if self.local is not None:
            return self.local.capacity
        if self.link.failure is not None:
            raise self.link.failure
        return max(self.link.threads, self.min_capacity) if self.link.client is not None else 0

    @property
    def in_flight(self) -> int:
        with self.lock:
            own = len(self.jobs)
        return own + (self.local.in_flight if self.local is not None else 0)

    def start(self, sink: EventSink) -> None:
        """Connect and check versions: raises ``ExecutorUnavailableError`` or ``VersionMismatchError``."""
        self.sink = sink
        self.link.open()

    def submit(self, task: FitTask, group: str) -> None:
        if self.local is not None:
            self.local.submit(task, group)
            return
        key = f"metagenx-fit-{task.job_id}-{next(self.numbers)}-{self.topic[9:]}"
        with self.lock:
            client = self.link.client
            if client is None or self.closing.is_set():
                self.emit(Dropped(task.job_id, "the Dask scheduler is not connected"))
                return
            submission = self.jobs[task.job_id] = Submission(key)
        try:
            arguments = (
                task,
                group,
                self.topic,
                self.expected,
                self.progress_interval,
                self.task_sandbox(task),
            )
            future = client.submit(run_fit_task, *arguments, key=key, pure=False, retries=0)
        except Exception as exc:
            self.end(task.job_id, key, Dropped(task.job_id, f"not sent to Dask: {exc}"))
            return
        with self.lock:
            submission.future = future
        future.add_done_callback(functools.partial(self.on_done, task.job_id, key))

    def local_runner_factory(self) -> type[RunnerProcess]:
        """Runners of the local fallback: sandboxed like the workers' when this executor sandboxes."""
        if self.sandbox is None:
            return RunnerProcess
        from metagenx.sandbox.runner import sandboxed_runner_factory

        return sandboxed_runner_factory(self.sandbox)

    def task_sandbox(self, task: FitTask) -> SandboxPolicy | None:
        """The sandbox policy sent with ``task``: this executor's, with the task's own limits fixed
        here (``limits_for`` may read the controller's store, which workers cannot)."""
        if self.sandbox is None:
            return None
        return dataclasses.replace(self.sandbox, limits=self.sandbox.task_limits(task), limits_for=None)

    def stop(self, job_id: int) -> None:
        worker: str | None = None
        with self.lock:
            submission = self.jobs.get(job_id)
            if submission is not None:
                submission.stop_requested = True  # sent when it starts, if it has not yet
                worker = submission.worker
        if submission is None and self.local is not None:
            self.local.stop(job_id)
        elif worker is not None:
            self.control.submit(self.send_stop, job_id, worker)

    def kill(self, job_id: int) -> None:
        with self.lock:
            submission = self.jobs.get(job_id)
            if submission is not None:
                event: TaskEnd
                if submission.worker is not None:
                    event = Crashed(job_id, "killed on request")
                else:
                    event = Dropped(job_id, "killed before it started")
                self.end(job_id, submission.key, event)
        if submission is None:
            if self.local is not None:
                self.local.kill(job_id)
        elif submission.future is not None:
            self.control.submit(submission.future.cancel)  # the task's watch then kills its runner

    def shutdown(self, *, stop_running: bool = True, timeout: float = 30.0) -> None:
        """Stop (or with ``stop_running=False`` cancel) the running fits; queued ones are ``dropped``."""
        if self.local is not None:
            self.local.shutdown(stop_running=stop_running, timeout=timeout)
        with self.lock:
            waiting = [(job_id, s) for job_id, s in self.jobs.items() if s.worker is None]
            for job_id, submission in waiting:
                self.end(job_id, submission.key, Dropped(job_id, "shut down"))
            running = [(job_id, s.worker) for job_id, s in self.jobs.items() if s.worker is not None]
        self.cancel([s for _, s in waiting])
        if stop_running and running:
            for job_id, worker in running:
                if worker is not None:
                    self.send_stop(job_id, worker)
            deadline = time.monotonic() + timeout
            while self.in_flight and time.monotonic() < deadline and self.link.up:
                time.sleep(0.05)
        self.closing.set()
        with self.lock:
            rest = list(self.jobs.items())
            for job_id, submission in rest:
                self.end(job_id, submission.key, Dropped(job_id, "shut down"))
        self.cancel([s for _, s in rest])
        self.link.close()
        self.control.shutdown(wait=False, cancel_futures=True)

    # -- helpers -------------------------------------------------------------------------
    def emit(self, event: ExecutorEvent) -> None:
        assert self.sink is not None
        self.sink(event)

    def end(self, job_id: int, key: str, event: TaskEnd) -> bool:
        """Send the one terminal event of submission ``key`` of ``job_id``; False if it already ended."""
        with self.lock:
            submission = self.jobs.get(job_id)
            if submission is None or submission.key != key:
                return False
            del self.jobs[job_id]
            self.emit(event)
            return True

    def cancel(self, submissions: list[Submission]) -> None:
        """Cancel the Dask tasks of ``submissions`` (their watches kill runners already started)."""
        futures = [s.future for s in submissions if s.future is not None]
        client = self.link.client
        if futures and client is not None:
            with contextlib.suppress(Exception):
                client.cancel(futures)

    def learn_batch_job(self, worker: str) -> None:
        """Ask ``worker`` which batch job it runs in (on the control thread; no answer: None)."""
        client = self.link.client
        if client is None:
            return
        with contextlib.suppress(Exception):
            answer = client.run(batch_job, workers=[worker], wait=True)
            self.batch_jobs[worker] = batch_job_label(answer.get(worker))

    def send_stop(self, job_id: int, worker: str) -> None:
        client = self.link.client
        if client is not None:
            with contextlib.suppress(Exception):
                client.run(request_stop, job_id, workers=[worker])

    # -- what Dask tells -----------------------------------------------------------------
    def on_lost(self) -> bool:
        """The scheduler is gone: every fit in flight is ``dropped`` (re-queued, not charged).
        Returns whether to reconnect (False: the rest runs on local processes)."""
        reason = f"lost the Dask scheduler at {self.address}; the fit will run again"
        with self.lock:
            lost = list(self.jobs.items())
            for job_id, submission in lost:
                self.end(job_id, submission.key, Dropped(job_id, reason))
        log.warning("%s (%d fits re-queued)", reason, len(lost))
        if not self.fallback_local or self.closing.is_set():
            return not self.closing.is_set()
        local = LocalExecutor(workers=self.fallback_workers, runner_factory=self.local_runner_factory())
        assert self.sink is not None
        local.start(self.sink)
        self.local = local
        log.warning("running the remaining fits on %d local processes", local.capacity)
        return False

    def on_message(self, item: tuple[float, Any]) -> None:
        """A ``started``/``progress`` report of a task (on the client's event loop: must not block).

        The report is a worker's and so untrusted: it must name the task's key, and its message must
        decode as a ``started``/``progress`` message of that task's job; otherwise the task ends
        as a :class:`~metagenx.events.Violation` and its Dask task is cancelled.
        """
        report = item[1] if isinstance(item, tuple | list) and len(item) == 2 else None
        key = report.get("key") if isinstance(report, dict) else None
        with self.lock:
            found = next(((j, s) for j, s in self.jobs.items() if s.key == key), None)
            if found is None:
                return  # not a task of ours, or from an earlier, abandoned submission of the job
            job_id, submission = found
            checked = worker_report(job_id, report)
            update = checked if isinstance(checked, Violation) else decode_update(job_id, checked[1])
            if isinstance(update, Violation):
                self.end(job_id, submission.key, update)
                if submission.future is not None:
                    self.control.submit(submission.future.cancel)
                return
            if isinstance(update, Started) and not isinstance(checked, Violation):
                submission.worker = checked[0]
                update = dataclasses.replace(update, worker=checked[0])
                if checked[0] not in self.batch_jobs:
                    self.batch_jobs[checked[0]] = None
                    self.control.submit(self.learn_batch_job, checked[0])
                if submission.stop_requested:
                    self.control.submit(self.send_stop, job_id, submission.worker)
            self.emit(update)

    def on_cluster_event(self, item: tuple[float, dict[str, Any]]) -> None:
        """Cluster events: a worker that died while running fits makes each of them ``crashed``."""
        lost = lost_keys(item[1])
        if lost is None:
            return
        worker, keys = lost
        with self.lock:
            hit = [(job_id, s) for job_id, s in self.jobs.items() if s.key in keys]
            for job_id, submission in hit:
                reason = worker_lost_reason(worker, self.batch_jobs.get(worker))
                self.end(job_id, submission.key, Crashed(job_id, reason))
                if submission.future is not None:  # Dask must not run it again behind the store's back
                    self.control.submit(submission.future.cancel)

    def on_done(self, job_id: int, key: str, future: Any) -> None:
        """The task's future finished, erred or was cancelled (on Dask's callback thread)."""
        with self.lock:
            submission = self.jobs.get(job_id)
            if submission is None or submission.key != key:
                return
        event = future_outcome(job_id, future, lambda: self.link.up and not self.closing.is_set())
        batch = self.batch_jobs.get(submission.worker or "")
        if isinstance(event, Crashed) and batch and batch not in event.reason:
            event = dataclasses.replace(event, reason=f"{event.reason}; its worker ran in {batch}")
        if event is None and not self.closing.is_set():
            # The connection dropped under the task. Dask's client may reconnect by itself before the
            # link notices (a scheduler restarted at the same address): the task is then gone without
            # on_lost ever running, so it is re-queued here (end() keeps only the first end of a task).
            event = Dropped(job_id, f"lost the Dask scheduler at {self.address}; the fit will run again")
        if event is not None:
            self.end(job_id, key, event)
