"""The ``local`` executor: a pool of warm runner processes on this machine, one fit each at a time."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass

from metagenx.errors import RunnerProtocolError
from metagenx.events import (
    Crashed,
    Dropped,
    Progress,
    RunnerMessage,
    Snapshot,
    Started,
    TaskEnd,
    Violation,
)
from metagenx.executors.base import CountingExecutor, EventSink
from metagenx.jobs import FitTask
from metagenx.runner.process import RunnerDied, RunnerProcess

log = logging.getLogger(__name__)


@dataclass
class Slot:
    """One worker thread and its warm runner; ``group`` is what the runner last ran."""

    index: int
    runner: RunnerProcess | None = None
    group: str | None = None
    job_id: int | None = None


class LocalExecutor(CountingExecutor):
    """``workers`` slots (default: number of cores); each supervises one runner child process.

    A runner is reused for the next task of the same group (owner and study), so a sweep
    pays GenX's start-up once per slot; a task of another group gets a fresh runner. A
    runner that dies is reported as ``crashed`` for its task and replaced for the next.
    """

    def __init__(
        self,
        workers: int | None = None,
        runner_factory: type[RunnerProcess] = RunnerProcess,
        *,
        prewarm: bool = False,
    ) -> None:
        """``prewarm`` starts every slot's runner at :meth:`start`, before any task, so the first
        fits (e.g. of a watch) do not wait for a process to start, import GenX and load the plotting."""
        super().__init__(workers or os.cpu_count() or 1)
        self.prewarm = prewarm
        self.runner_factory = runner_factory
        self.tasks: queue.Queue[tuple[FitTask, str] | None] = queue.Queue()
        self.slots = [Slot(i) for i in range(self.workers)]
        self.threads: list[threading.Thread] = []
        self.cancelled: set[int] = set()
        self.stop_before_start: set[int] = set()
        self.closing = threading.Event()
        self.aborting = threading.Event()

    def start(self, sink: EventSink) -> None:
        from metagenx.engine.kernels import ensure_warm

        ensure_warm()  # once per machine: no fit process compiles GenX's kernels on its own
        self.sink = sink
        for slot in self.slots:
            thread = threading.Thread(
                target=self.work, args=(slot,), name=f"metagenx-slot-{slot.index}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def submit(self, task: FitTask, group: str) -> None:
        with self.lock:
            self.pending.add(task.job_id)
        self.tasks.put((task, group))

    def stop(self, job_id: int) -> None:
        with self.lock:
            self.stop_before_start.add(job_id)  # still queued here: it is dropped, never started
        for slot in self.slots:
            if slot.job_id == job_id and slot.runner is not None:
                slot.runner.request_stop()

    def kill(self, job_id: int) -> None:
        with self.lock:
            self.cancelled.add(job_id)
        for slot in self.slots:
            if slot.job_id == job_id and slot.runner is not None:
                slot.runner.kill()

    def shutdown(self, *, stop_running: bool = True, timeout: float = 30.0) -> None:
        """With ``stop_running``, running fits stop after their generation (their results come back);
        without, every runner is killed at once (their tasks end ``crashed``, queued ones ``dropped``)."""
        self.closing.set()
        if not stop_running:
            self.aborting.set()
        for slot in self.slots:
            runner = slot.runner
            if runner is None or (stop_running and slot.job_id is None):
                continue
            if stop_running:
                runner.request_stop()
            else:
                runner.kill()
        for _ in self.threads:
            self.tasks.put(None)
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for slot in self.slots:
            if slot.runner is not None:
                if not stop_running:
                    slot.runner.kill()
                slot.runner.close()  # after a kill this only waits for the process (and its uid) to go
                slot.runner = None

    # -- the slot threads --------------------------------------------------------------------
    def work(self, slot: Slot) -> None:
        if self.prewarm:
            try:
                slot.runner = self.runner_factory()
                slot.runner.wait_ready()
                slot.runner.warm()
            except (RunnerDied, RunnerProtocolError, OSError) as exc:
                log.warning("could not prewarm a runner: %s", exc)
                if slot.runner is not None:
                    slot.runner.close()
                slot.runner = None
        while (item := self.tasks.get()) is not None:
            task, group = item
            with self.lock:
                dropped = task.job_id in self.cancelled or task.job_id in self.stop_before_start
            if dropped or self.closing.is_set():
                self.end(task.job_id, Dropped(task.job_id, "not started"))
                continue
            self.run_one(slot, task, group)

    def run_one(self, slot: Slot, task: FitTask, group: str) -> None:
        """Run ``task`` on the slot's warm runner (a fresh one for a new group or after a death)."""
        taken = slot.group is not None and slot.group != group
        if slot.runner is not None and (taken or not slot.runner.alive()):
            slot.runner.close()
            slot.runner = None
        slot.job_id = task.job_id
        try:
            if slot.runner is None:
                slot.runner = self.runner_factory()
            slot.group = group
            with self.lock:  # a kill() that came while the runner was being replaced missed it
                killed = task.job_id in self.cancelled or self.aborting.is_set()
            if killed:
                self.end(task.job_id, Crashed(task.job_id, "cancelled"))
                return
            outcome = slot.runner.run(task, on_event=self.forward)
            self.end(task.job_id, outcome.message)
        except RunnerProtocolError as exc:
            log.warning("job %s: %s", task.job_id, exc)
            if slot.runner is not None:
                slot.runner.kill()
                slot.runner.close()
            slot.runner = None
            self.end(task.job_id, Violation(task.job_id, str(exc)))
        except (RunnerDied, OSError) as exc:
            reason = exc.reason if isinstance(exc, RunnerDied) else f"runner process failed: {exc}"
            log.warning("job %s: %s", task.job_id, reason)
            if slot.runner is not None:
                slot.runner.close()
            slot.runner = None
            self.end(task.job_id, Crashed(task.job_id, reason))
        finally:
            slot.job_id = None

    def forward(self, message: RunnerMessage) -> None:
        match message:
            case Started(job_id=job_id):
                self.emit(message)
                self.stop_if_asked(job_id)
            case Progress() | Snapshot():
                self.emit(message)
            case _:  # the end is sent by end(), after bookkeeping, so in_flight is exact when it arrives
                pass

    def stop_if_asked(self, job_id: int) -> None:
        """Pass on a stop asked for while ``job_id``'s runner was still starting, now that its fit began.

        Before its ``started`` the runner may not have existed yet, or the stop may have reached it
        ahead of the task (which clears it): either way it would be lost."""
        with self.lock:
            asked = job_id in self.stop_before_start
        if asked:
            for slot in self.slots:
                if slot.job_id == job_id and slot.runner is not None:
                    slot.runner.request_stop()

    def end(self, job_id: int, event: TaskEnd) -> None:
        """Close the books on ``job_id``, then send its one final event."""
        with self.lock:
            self.pending.discard(job_id)
            self.cancelled.discard(job_id)
            self.stop_before_start.discard(job_id)
        self.emit(event)
