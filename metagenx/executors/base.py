"""The executor interface: hand over fit tasks, get every runner message back as an event."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable

from metagenx.events import ExecutorEvent
from metagenx.jobs import FitTask

EventSink = Callable[[ExecutorEvent], None]
"""Receives every event of every task: :class:`~metagenx.events.Started` and
:class:`~metagenx.events.Progress` as they come, then exactly one terminal event per submitted task
(:func:`metagenx.events.is_terminal`): ``Finished``, ``Failed``, ``Crashed`` (the runner died),
``Violation`` (the runner broke the protocol and was killed) or ``Dropped`` (never started: killed
while queued, or the executor shut down)."""


class Executor(abc.ABC):
    """Runs fit tasks somewhere; events are delivered to the sink given at :meth:`start`.

    Events may arrive from other threads; the sink must be thread-safe (a queue).
    """

    @abc.abstractmethod
    def start(self, sink: EventSink) -> None:
        """Start workers; from now on events go to ``sink``."""

    @abc.abstractmethod
    def submit(self, task: FitTask, group: str) -> None:
        """Queue ``task``. ``group`` (e.g. ``"owner/study"``) decides which warm runners may take it."""

    @abc.abstractmethod
    def stop(self, job_id: int) -> None:
        """Ask the fit of ``job_id`` to stop after its current generation (its best result comes back)."""

    @abc.abstractmethod
    def kill(self, job_id: int) -> None:
        """End ``job_id`` now: queued, it is dropped; running, its runner is killed (a ``crashed`` event)."""

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """Number of fits that can run at once."""

    @property
    @abc.abstractmethod
    def in_flight(self) -> int:
        """Submitted tasks not yet ended (queued or running)."""

    @abc.abstractmethod
    def shutdown(self, *, stop_running: bool = True, timeout: float = 30.0) -> None:
        """Stop workers. With ``stop_running``, running fits are asked to stop and their results kept."""


class CountingExecutor(Executor):
    """An executor of ``workers`` slots on this machine that counts its tasks in flight: ``pending``
    (job ids submitted and not yet ended, under ``lock``) and the ``sink`` given at start."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.lock = threading.Lock()
        self.pending: set[int] = set()
        self.sink: EventSink | None = None

    @property
    def capacity(self) -> int:
        return self.workers

    @property
    def in_flight(self) -> int:
        with self.lock:
            return len(self.pending)

    def emit(self, event: ExecutorEvent) -> None:
        assert self.sink is not None, "the executor was not started"
        self.sink(event)
