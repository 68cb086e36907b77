"""The in-process executor keeps the executor's promises, with real GenX fits on threads."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import metagenx
from metagenx.events import Crashed, Dropped, ExecutorEvent, Finished, Progress, Started, is_terminal
from metagenx.executors.inprocess import KILLED, InProcessExecutor
from metagenx.jobs import FitTask

ENDLESS = {"seed": 1, "max_generations": 100_000, "tolerance": 0.0, "min_spread": 0.0}


def ends(events: queue.Queue[ExecutorEvent], count: int, timeout: float = 120) -> dict[int, ExecutorEvent]:
    found: dict[int, ExecutorEvent] = {}
    deadline = time.monotonic() + timeout
    while len(found) < count:
        event = events.get(timeout=max(0.1, deadline - time.monotonic()))
        if is_terminal(event):
            assert event.job_id not in found, "one terminal event per task"
            found[event.job_id] = event
    return found


def test_a_fit_on_a_thread_equals_the_same_fit_in_a_runner(superadam: Path, tmp_path: Path) -> None:
    events: queue.Queue[ExecutorEvent] = queue.Queue()
    executor = InProcessExecutor()
    executor.start(events.put)
    output = tmp_path / "fit" / "model.hgx"
    executor.submit(FitTask(1, str(superadam), {"seed": 4, "max_generations": 3}, output=str(output)), "g")
    (end,) = ends(events, 1).values()
    assert isinstance(end, Finished) and executor.in_flight == 0
    assert end.result.fom == metagenx.fit(superadam, seed=4, max_generations=3).fom
    assert (output.parent / "result.json").is_file()
    executor.shutdown()


def test_kill_ends_a_running_fit_as_crashed_and_drops_a_queued_one(xray: Path) -> None:
    events: queue.Queue[ExecutorEvent] = queue.Queue()
    seen: list[ExecutorEvent] = []
    started = threading.Event()

    def sink(event: ExecutorEvent) -> None:
        seen.append(event)
        if isinstance(event, Progress):
            started.set()
        events.put(event)

    executor = InProcessExecutor()
    executor.start(sink)
    executor.submit(FitTask(1, str(xray), ENDLESS), "g")
    executor.submit(FitTask(2, str(xray), ENDLESS), "g")
    assert started.wait(60)
    executor.kill(2)  # still queued: never starts
    executor.kill(1)
    found = ends(events, 2)
    assert isinstance(found[1], Crashed) and found[1].reason == KILLED
    assert isinstance(found[2], Dropped)
    assert not any(isinstance(e, Started) and e.job_id == 2 for e in seen)
    assert executor.in_flight == 0
    executor.shutdown()
