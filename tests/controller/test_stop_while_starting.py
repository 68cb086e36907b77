"""A stop asked for while a fit's runner process is still starting reaches the fit once it begins."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from metagenx.engine.result import StopReason
from metagenx.events import ExecutorEvent, Finished, Progress, is_terminal
from metagenx.executors import LocalExecutor
from metagenx.jobs import FitTask
from metagenx.runner.process import RunnerProcess

SLOW_START = 1.5
"""Seconds a runner process takes to start here (a loaded machine takes as long)."""


class SlowRunner(RunnerProcess):
    def __init__(self) -> None:
        time.sleep(SLOW_START)
        super().__init__()


@pytest.fixture
def executor() -> Iterator[tuple[LocalExecutor, queue.Queue[ExecutorEvent]]]:
    events: queue.Queue[ExecutorEvent] = queue.Queue()
    local = LocalExecutor(workers=1, runner_factory=SlowRunner)
    local.start(events.put)
    yield local, events
    local.shutdown(stop_running=False, timeout=10)


def endless_fit(model: Path) -> FitTask:
    """A fit that runs until it is stopped (no convergence rule, GenX's budget of generations)."""
    return FitTask(job_id=1, model_path=str(model), settings={"seed": 1, "tolerance": 0.0})


def next_event(events: queue.Queue[ExecutorEvent], wanted: type, within: float) -> ExecutorEvent | None:
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            return None
        if isinstance(event, wanted) or is_terminal(event):
            return event
    return None


def test_a_stop_while_the_runner_starts_stops_the_fit(
    executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]], superadam: Path
) -> None:
    local, events = executor
    local.submit(endless_fit(superadam), "g")
    time.sleep(SLOW_START / 3)  # the slot has taken the task; its runner is still starting
    local.stop(1)
    ended = next_event(events, Finished, within=120)
    assert isinstance(ended, Finished), ended
    assert ended.result.stop_reason is StopReason.REQUESTED and not ended.result.complete


def test_without_passing_the_stop_on_the_fit_runs_on(
    executor: tuple[LocalExecutor, queue.Queue[ExecutorEvent]],
    superadam: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same, protection off: the stop is lost and the fit goes on generation after generation."""
    local, events = executor
    monkeypatch.setattr(LocalExecutor, "stop_if_asked", lambda self, job_id: None)
    local.submit(endless_fit(superadam), "g")
    time.sleep(SLOW_START / 3)
    local.stop(1)
    assert isinstance(next_event(events, Progress, within=120), Progress)
    time.sleep(5.0)
    seen = []
    while not events.empty():
        seen.append(events.get())
    assert not any(is_terminal(e) for e in seen), "the fit ended although nothing passed the stop on"
    assert sum(isinstance(e, Progress) for e in seen) >= 2, "it kept fitting"
