"""The ``in-process`` executor: fits on threads of this process.

It runs the same task code as a runner child (:func:`metagenx.runner.child.run_task`) and keeps
the executor's promises (events in order, exactly one terminal event per task, ``in_flight``
exact when it arrives), without a process per fit: no start-up of a fresh Python and GenX,
and no isolation whatever. It serves the Python API (:func:`metagenx.fit`, your own files in
your own process) and the controller's logic tests; the model's script runs in this process,
on a thread. Progress is reported every generation (nothing crosses a pipe).

A thread cannot be killed: :meth:`InProcessExecutor.kill` asks the fit to stop and reports
the task ``crashed`` ("killed") when its thread ends, whatever the fit handed back.
"""

from __future__ import annotations

import queue
import threading

from metagenx.events import Crashed, Dropped, Failed, Finished, RunnerMessage, Snapshot, Started, TaskEnd
from metagenx.events import Progress as ProgressEvent
from metagenx.executors.base import CountingExecutor, EventSink
from metagenx.jobs import FitTask

KILLED = "killed"


class TaskSender:
    """Where a task's messages go: progress to the sink at once, the end kept for the executor."""

    def __init__(self, emit: EventSink) -> None:
        self.emit = emit
        self.end: Finished | Failed | None = None

    def send(self, message: RunnerMessage) -> None:
        match message:
            case Started() | ProgressEvent() | Snapshot():
                self.emit(message)
            case Finished() | Failed():
                self.end = message
            case _:
                pass


class InProcessExecutor(CountingExecutor):
    """``workers`` threads of this process, each running one fit at a time (default 1)."""

    def __init__(self, workers: int = 1) -> None:
        super().__init__(workers)
        self.tasks: queue.Queue[FitTask | None] = queue.Queue()
        self.killed: set[int] = set()
        self.stops: dict[int, threading.Event] = {}
        self.threads: list[threading.Thread] = []
        self.closing = threading.Event()

    def start(self, sink: EventSink) -> None:
        self.sink = sink
        for index in range(self.workers):
            thread = threading.Thread(target=self.work, name=f"metagenx-inprocess-{index}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def submit(self, task: FitTask, group: str) -> None:
        del group  # nothing is kept warm per group: the process itself is warm
        with self.lock:
            self.pending.add(task.job_id)
            self.stops[task.job_id] = threading.Event()
        self.tasks.put(task)

    def stop(self, job_id: int) -> None:
        with self.lock:
            stop = self.stops.get(job_id)
        if stop is not None:
            stop.set()

    def kill(self, job_id: int) -> None:
        with self.lock:
            if job_id in self.pending:
                self.killed.add(job_id)
        self.stop(job_id)

    def shutdown(self, *, stop_running: bool = True, timeout: float = 30.0) -> None:
        self.closing.set()
        with self.lock:
            running = list(self.pending)
        for job_id in running:
            if stop_running:
                self.stop(job_id)
            else:
                self.kill(job_id)
        for _ in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            thread.join(timeout)

    # -- the worker threads ---------------------------------------------------------------------
    def work(self) -> None:
        from metagenx.runner.child import run_task

        while (task := self.tasks.get()) is not None:
            with self.lock:
                stop = self.stops[task.job_id]
                dropped = task.job_id in self.killed or stop.is_set() or self.closing.is_set()
            if dropped:
                self.end(task.job_id, Dropped(task.job_id, "not started"))
                continue
            sender = TaskSender(self.emit)
            run_task(task, sender, stop, progress_interval=0.0, choose_kernels=False)
            with self.lock:
                killed = task.job_id in self.killed
            if killed or sender.end is None:
                self.end(task.job_id, Crashed(task.job_id, KILLED if killed else "the fit sent no result"))
            else:
                self.end(task.job_id, sender.end)

    def end(self, job_id: int, event: TaskEnd) -> None:
        """Close the books on ``job_id``, then send its one final event."""
        with self.lock:
            self.pending.discard(job_id)
            self.killed.discard(job_id)
            self.stops.pop(job_id, None)
        self.emit(event)
