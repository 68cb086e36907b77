"""Jobs that coordinate many fits on the controller's executor: a solve, or a tune.

A *solve job* (settings with a ``solve`` table, see :mod:`metagenx.solve.job_settings`) races
seeded starts, each a fit task on the controller's own executor, so they share its slots
(and, on a server, its sandbox) with every other job. A *tune job* (the one job of a study of
kind ``tune``) runs Optuna trials of such solves. Each runs on a thread of its own
(:class:`Coordinator`) and reports to the controller the way a runner does: ``progress``
events, then one ``result`` or ``error`` event for the stored job.

The fit tasks of a coordinated job have ids of their own, above :data:`TASK_BASE`, derived
from the job's id (:func:`owning_job_id` gives it back): the controller routes their events
to the coordinator, and per-user limits find the owner.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metagenx.errors import MetagenxError
from metagenx.events import ExecutorEvent, Failed, Finished, Log, Progress, SolveStatus, TuneFinished
from metagenx.executors.base import Executor
from metagenx.jobs import FitTask, JobKind
from metagenx.solve.dispatch import Dispatch
from metagenx.solve.job_settings import solve_settings_of
from metagenx.solve.starts import Model, SolveAbandoned, SolveProgress

log = logging.getLogger(__name__)

TASK_BASE = 1 << 40
"""Fit tasks of coordinated jobs have ids from here on (store job ids stay far below)."""
TASK_SPAN = 1 << 20
"""Task ids reserved per coordinated job."""
PROGRESS_INTERVAL = 0.5
"""Seconds between progress reports of a coordinated job (an improvement is reported at once)."""

Emit = Callable[[ExecutorEvent], None]


def owning_job_id(task_id: int) -> int:
    """The stored job a task belongs to: the task's own id, or its coordinated job's."""
    return task_id if task_id < TASK_BASE else (task_id - TASK_BASE) // TASK_SPAN


class JobDispatch(Dispatch):
    """A coordinated job's share of the controller's executor (which it does not own)."""

    def __init__(self, executor: Executor, job_id: int) -> None:
        super().__init__(executor, start=False, first_id=TASK_BASE + job_id * TASK_SPAN)
        self.submitted = threading.Event()

    def submit(self, task: FitTask, group: str) -> None:
        self.submitted.set()
        super().submit(task, group)

    def kill_all(self) -> None:
        """End every task of this job now (queued: dropped; running: killed)."""
        with self.lock:
            live = list(self.inboxes)
        for task_id in live:
            self.executor.kill(task_id)

    def shutdown(self) -> None:
        """Nothing to shut down: the executor is the controller's."""


class Coordinator(threading.Thread):
    """Runs one coordinated job on a thread of its own; its outcome goes to ``emit``.

    :meth:`abandon` ends it at once and reports nothing (cancellation, controller shutdown):
    its running fits are killed, and the stored job is left to whoever abandoned it.
    """

    def __init__(self, task: FitTask, settings: dict[str, Any], group: str, executor: Executor, emit: Emit):
        super().__init__(name=f"metagenx-job-{task.job_id}", daemon=True)
        self.task = task
        self.settings = settings
        self.group = group
        self.emit = emit
        self.dispatch = JobDispatch(executor, task.job_id)
        self.stop_event = threading.Event()
        self.abandoned = threading.Event()

    @property
    def job_id(self) -> int:
        return self.task.job_id

    @property
    def waiting_to_submit(self) -> bool:
        """True until its first fit task is submitted (it will take a slot soon)."""
        return self.is_alive() and not self.dispatch.submitted.is_set()

    def abandon(self) -> None:
        self.abandoned.set()
        self.stop_event.set()
        self.dispatch.kill_all()

    def run(self) -> None:
        event: Finished | TuneFinished | Failed
        try:
            event = self.work()
        except SolveAbandoned:
            return
        except MetagenxError as exc:
            event = self.error(str(exc), type(exc).__name__)
        except Exception as exc:  # reported on the job, never lost in a thread
            log.exception("job %s failed", self.job_id)
            event = self.error(f"{type(exc).__name__}: {exc}", type(exc).__name__)
        if not self.abandoned.is_set():
            self.emit(event)

    def work(self) -> Finished | TuneFinished:
        """Do the job; return the event that ends it (or raise)."""
        raise NotImplementedError

    def error(self, message: str, kind: str) -> Failed:
        return Failed(self.job_id, kind, message)


class SolveCoordinator(Coordinator):
    """A solve job: raced starts, polish, and the best fit as the job's result.

    The result is the best fit's, with the solve's account (starts, agreement, confidence,
    parameter spread, FOM against time) in its ``extra["solve"]``; its files are the usual
    ones plus ``solve.json``. The budget is capped at ``max_budget`` s (a server's wall limit).
    """

    def __init__(self, *args: Any, max_budget: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_budget = max_budget
        self.reports = 0
        self.last_report = 0.0
        self.best_reported = float("inf")

    def work(self) -> Finished:
        from metagenx.solve.solve import solve

        settings = solve_settings_of(self.settings, max_budget=self.max_budget)
        task = self.task
        model = Model(task.model_path, task.data, task.overrides, dict(task.start_values))
        result = solve(
            model,
            settings,
            out=task.output,
            dispatch=self.dispatch,
            progress=self.progress,
            stop_event=self.stop_event,
            abandon=self.abandoned,
            group=self.group,
        )
        account = result.summary()
        account.pop("best")
        best = dataclasses.replace(
            result.best,
            extra={**result.best.extra, "solve": account},
            complete=result.best.complete and not self.stop_event.is_set(),  # cancelled: the best so far
        )
        return Finished(self.job_id, best, stop_reason=f"solve: {result.stop_reason}")

    def progress(self, p: SolveProgress) -> None:
        now = time.monotonic()
        if not math.isfinite(p.best_fom):
            return
        if p.best_fom >= self.best_reported and now - self.last_report < PROGRESS_INTERVAL:
            return
        self.last_report, self.best_reported = now, min(self.best_reported, p.best_fom)
        self.reports += 1
        status = SolveStatus(p.running, p.ended, p.agreeing, p.confidence)
        self.emit(Progress(self.job_id, self.reports, p.best_fom, p.evaluations, p.elapsed, status))


class TuneCoordinator(Coordinator):
    """A tune job: Optuna trials of seeded solves of the job's models, stored beside the job store.

    ``settings`` holds ``tune`` (:class:`~metagenx.solve.tune.TuneSettings` keys) and ``models``
    (the model files); the report (best.toml, trials.csv, plots) goes into the job's directory.
    """

    def __init__(self, *args: Any, storage: Callable[[], Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = storage

    def work(self) -> TuneFinished:
        from metagenx.solve.tune import TuneSettings, tune

        settings = TuneSettings.from_dict(dict(self.settings.get("tune") or {}))
        models = [str(m) for m in self.settings.get("models") or [self.task.model_path]]
        out = Path(self.task.output).parent if self.task.output else Path.cwd()
        result = tune(
            models,
            settings,
            storage=self.storage(),
            out=out,
            dispatch=self.dispatch,
            stop=self.stop_event,
            on_run=self.on_run,
            abandon=self.abandoned,
            group=self.group,
        )
        return TuneFinished(
            self.job_id,
            {"tune": result.to_dict()},
            f"{result.trials} trial(s) in study {result.study_name}",
        )

    def on_run(self, line: str) -> None:
        self.emit(Log(self.job_id, line))


def coordinator_for(
    task: FitTask,
    settings: dict[str, Any],
    *,
    kind: JobKind,
    group: str,
    executor: Executor,
    emit: Emit,
    max_budget: float | None = None,
    tune_storage: Callable[[], Any] | None = None,
) -> Coordinator | None:
    """The coordinator of a stored job of ``kind`` (a solve or a tune), or None for a plain fit."""
    if kind is JobKind.TUNE:
        if tune_storage is None:
            raise MetagenxError("this controller cannot run tune jobs (no storage for Optuna studies)")
        return TuneCoordinator(task, settings, group, executor, emit, storage=tune_storage)
    if kind is JobKind.SOLVE:
        return SolveCoordinator(task, settings, group, executor, emit, max_budget=max_budget)
    return None
