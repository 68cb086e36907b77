"""Jobs that coordinate many fits on the controller's executor (a solve, a tune), and their routing.

A coordinated job runs on a thread of its own (:class:`Coordinator`) and reports to the
controller the way a runner does: ``progress`` events, then one ``result`` or ``error`` event
for the stored job. Its fits are tasks on the controller's own executor, so they share its
slots (and, on a server, its sandbox and the owner's limits) with every other job. It reaches
the executor only through an :class:`ExecutorShare`: fresh task ids from the controller's
:class:`TaskRouter`, which hands each task's events to the inbox that asked for them.

What a kind of job does is not the controller's business: the package that knows it registers
a :data:`CoordinatorFactory` for its :class:`~metagenx.jobs.JobKind` with :func:`register`
(``metagenx.solve`` registers solve and tune).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metagenx.errors import MetagenxError
from metagenx.events import ExecutorEvent, Failed, Finished, TuneFinished
from metagenx.executors.base import Executor
from metagenx.jobs import FitTask, JobKind
from metagenx.store import Store

log = logging.getLogger(__name__)

Emit = Callable[[ExecutorEvent], None]
Inbox = queue.Queue[ExecutorEvent]

FIRST_TASK_ID = 1 << 40
"""Fit tasks of coordinated jobs are numbered from here on, clear of stored job ids (which the
executor also sees); which job a task belongs to is looked up, never computed from its id."""


class CoordinationAbandoned(MetagenxError):
    """A coordinated job was abandoned by its controller (cancelled, shutting down): it reports nothing."""


class TaskRouter:
    """Numbers the fit tasks of coordinated jobs and routes their events (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids = itertools.count(FIRST_TASK_ID)
        self.routes: dict[int, tuple[int, Inbox]] = {}

    def allot(self, owner: int, inbox: Inbox) -> int:
        """A fresh task id of stored job ``owner`` whose events will arrive in ``inbox``."""
        with self.lock:
            task_id = next(self.ids)
            self.routes[task_id] = (owner, inbox)
        return task_id

    def owner(self, task_id: int) -> int | None:
        """The stored job a coordinated task belongs to; None for a task that is a stored job."""
        with self.lock:
            route = self.routes.get(task_id)
        return None if route is None else route[0]

    def route(self, event: ExecutorEvent) -> bool:
        """Deliver ``event`` to the inbox of its task; False when it is not a coordinated task's.

        A late event of a task whose route is gone (its job ended or was abandoned) is dropped
        here: it is about no stored job."""
        with self.lock:
            route = self.routes.get(event.job_id)
        if route is not None:
            route[1].put(event)
        return route is not None or event.job_id >= FIRST_TASK_ID

    def forget(self, task_id: int) -> None:
        with self.lock:
            self.routes.pop(task_id, None)

    def forget_owner(self, owner: int) -> None:
        """Drop the routes of every task of stored job ``owner`` (it ended or was abandoned)."""
        with self.lock:
            for task_id in [t for t, (job, _) in self.routes.items() if job == owner]:
                del self.routes[task_id]

    def tasks_of(self, owner: int) -> list[int]:
        with self.lock:
            return [task_id for task_id, (job, _) in self.routes.items() if job == owner]


class ExecutorShare:
    """What a coordinated job may do with the controller's executor: submit, stop, kill its own tasks."""

    def __init__(self, executor: Executor, router: TaskRouter, job_id: int) -> None:
        self.executor = executor
        self.router = router
        self.job_id = job_id
        self.submitted = threading.Event()

    @property
    def capacity(self) -> int:
        """Fits the executor runs at once (shared with every other job)."""
        return self.executor.capacity

    def new_job_id(self, inbox: Inbox) -> int:
        """A fresh task id whose events will arrive in ``inbox``."""
        return self.router.allot(self.job_id, inbox)

    def submit(self, task: FitTask, group: str) -> None:
        """Run ``task`` (its id from :meth:`new_job_id`) as part of this share's stored job."""
        if self.router.owner(task.job_id) != self.job_id:
            raise MetagenxError(f"task {task.job_id} was not allotted to job {self.job_id}")
        self.submitted.set()
        self.executor.submit(dataclasses.replace(task, part_of=self.job_id), group)

    def stop(self, task_id: int) -> None:
        """Ask a task to stop after its generation; its best result still arrives."""
        self.executor.stop(task_id)

    def forget(self, task_id: int) -> None:
        """No more events of ``task_id`` are wanted (it ended)."""
        self.router.forget(task_id)

    def kill_all(self) -> None:
        """End every task of this job now (queued: dropped; running: killed)."""
        for task_id in self.router.tasks_of(self.job_id):
            self.executor.kill(task_id)


@dataclass(frozen=True)
class CoordinatedJob:
    """Everything a coordinator gets: the stored job's task and settings, its share of the
    executor, where its events go, the job store (for a tune's Optuna study) and the server's
    cap on a solve's budget (s, None: none)."""

    task: FitTask
    settings: dict[str, Any]
    group: str
    share: ExecutorShare
    emit: Emit
    store: Store
    max_budget: float | None = None


class Coordinator(threading.Thread):
    """Runs one coordinated job on a thread of its own; its outcome goes to ``job.emit``.

    :meth:`abandon` ends it at once and reports nothing (cancellation, controller shutdown):
    its running fits are killed, and the stored job is left to whoever abandoned it.
    :meth:`stop` asks it to end soon with its best answer so far.
    """

    def __init__(self, job: CoordinatedJob) -> None:
        super().__init__(name=f"metagenx-job-{job.task.job_id}", daemon=True)
        self.job = job
        self.stop_event = threading.Event()
        self.abandoned = threading.Event()

    @property
    def job_id(self) -> int:
        return self.job.task.job_id

    @property
    def waiting_to_submit(self) -> bool:
        """True until its first fit task is submitted (it will take a slot soon)."""
        return self.is_alive() and not self.job.share.submitted.is_set()

    def stop(self) -> None:
        self.stop_event.set()

    def abandon(self) -> None:
        self.abandoned.set()
        self.stop_event.set()
        self.job.share.kill_all()

    def run(self) -> None:
        event: Finished | TuneFinished | Failed
        try:
            event = self.work()
        except CoordinationAbandoned:
            return
        except MetagenxError as exc:
            event = Failed(self.job_id, type(exc).__name__, str(exc))
        except Exception as exc:  # reported on the job, never lost in a thread
            log.exception("job %s failed", self.job_id)
            event = Failed(self.job_id, type(exc).__name__, f"{type(exc).__name__}: {exc}")
        if not self.abandoned.is_set():
            self.job.emit(event)

    def work(self) -> Finished | TuneFinished:
        """Do the job; return the event that ends it (or raise)."""
        raise NotImplementedError


CoordinatorFactory = Callable[[CoordinatedJob], Coordinator]
FACTORIES: dict[JobKind, CoordinatorFactory] = {}


def register(kind: JobKind, factory: CoordinatorFactory) -> None:
    """Run stored jobs of ``kind`` with coordinators made by ``factory``."""
    FACTORIES[kind] = factory


def coordinator_for(kind: JobKind, job: CoordinatedJob) -> Coordinator:
    """The coordinator of a stored job of ``kind``; raise :class:`MetagenxError` for a kind no
    package registered (its job fails with that message)."""
    factory = FACTORIES.get(kind)
    if factory is None:
        raise MetagenxError(
            f"this controller cannot run {kind.value} jobs (import metagenx.solve to run them)"
        )
    return factory(job)
