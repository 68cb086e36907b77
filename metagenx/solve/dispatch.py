"""One executor shared by several consumers (solves, tune trials): events routed by job id."""

from __future__ import annotations

import itertools
import queue
import threading

from metagenx.events import ExecutorEvent
from metagenx.executors.base import Executor
from metagenx.jobs import FitTask

Inbox = queue.Queue[ExecutorEvent]


class Dispatch:
    """Routes an executor's events; each consumer gets the events of its own jobs in its inbox.

    Job ids are allocated here (from ``first_id`` on), so consumers sharing one executor never
    collide. With ``start`` (default) the executor is started with :meth:`route` as its sink;
    otherwise its owner (e.g. a server's controller, whose own job ids lie below ``first_id``)
    passes the events it does not know to :meth:`route`. Thread-safe.
    """

    def __init__(self, executor: Executor, *, start: bool = True, first_id: int = 1) -> None:
        self.executor = executor
        self.lock = threading.Lock()
        self.inboxes: dict[int, Inbox] = {}
        self.ids = itertools.count(first_id)
        if start:
            executor.start(self.deliver)

    @property
    def capacity(self) -> int:
        return self.executor.capacity

    def deliver(self, event: ExecutorEvent) -> None:
        """The executor's sink."""
        self.route(event)

    def route(self, event: ExecutorEvent) -> bool:
        """Deliver ``event`` to the inbox of its job; False when no consumer here waits for it."""
        with self.lock:
            inbox = self.inboxes.get(event.job_id)
        if inbox is not None:
            inbox.put(event)
        return inbox is not None

    def new_job_id(self, inbox: Inbox) -> int:
        """A fresh job id whose events will arrive in ``inbox``."""
        with self.lock:
            job_id = next(self.ids)
            self.inboxes[job_id] = inbox
        return job_id

    def submit(self, task: FitTask, group: str) -> None:
        self.executor.submit(task, group)

    def stop(self, job_id: int) -> None:
        """Ask the job to stop after its generation; its best result still arrives."""
        self.executor.stop(job_id)

    def forget(self, job_id: int) -> None:
        """No more events of ``job_id`` are wanted (it ended)."""
        with self.lock:
            self.inboxes.pop(job_id, None)

    def shutdown(self) -> None:
        self.executor.shutdown(stop_running=True, timeout=30.0)
