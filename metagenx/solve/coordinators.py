"""Solve and tune jobs on the controller: their coordinators, registered for their job kinds.

A *solve job* (kind ``solve``; its settings hold a ``solve`` table, see
:mod:`metagenx.solve.job_settings`) races seeded starts, each a fit task on the controller's
executor. A *tune job* (kind ``tune``) runs Optuna trials of such solves, its Optuna study
kept beside the job store. Importing :mod:`metagenx.solve` registers both with the controller.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from metagenx.controller.coordinated import CoordinatedJob, Coordinator, register
from metagenx.events import Finished, Log, Progress, SolveStatus, TuneFinished
from metagenx.jobs import JobKind
from metagenx.solve.job_settings import solve_settings_of
from metagenx.solve.starts import Model, SolveProgress

PROGRESS_INTERVAL = 0.5
"""Seconds between progress reports of a solve job (an improvement is reported at once)."""


class SolveCoordinator(Coordinator):
    """A solve job: raced starts, polish, and the best fit as the job's result.

    The result is the best fit's, with the solve's account (starts, agreement, confidence,
    parameter spread, FOM against time) in its ``extra["solve"]``; its files are the usual
    ones plus ``solve.json``. The budget is capped at the controller's ``max_budget`` s.
    """

    def __init__(self, job: CoordinatedJob) -> None:
        super().__init__(job)
        self.reports = 0
        self.last_report = 0.0
        self.best_reported = math.inf

    def work(self) -> Finished:
        from metagenx.solve.solver import solve_on

        job = self.job
        task = job.task
        settings = solve_settings_of(job.settings, max_budget=job.max_budget)
        model = Model(task.model_path, task.data, task.overrides, dict(task.start_values))
        result = solve_on(
            job.share,
            model,
            settings,
            out=task.output,
            progress=self.progress,
            stop_event=self.stop_event,
            abandon=self.abandoned,
            group=job.group,
        )
        best = dataclasses.replace(
            result.best,
            extra={**result.best.extra, "solve": result.account()},
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
        self.job.emit(Progress(self.job_id, self.reports, p.best_fom, p.evaluations, p.elapsed, status))


class TuneCoordinator(Coordinator):
    """A tune job: Optuna trials of seeded solves of the job's models.

    ``settings`` holds ``tune`` (:class:`~metagenx.solve.tune.TuneSettings` keys) and ``models``
    (the model files); the report (best.toml, trials.csv, plots) goes into the folder of the
    job's output file. The Optuna study lives beside the job store
    (:func:`~metagenx.solve.tune_storage.open_tune_storage`).
    """

    def work(self) -> TuneFinished:
        from metagenx.solve.tune import TuneSettings, tune
        from metagenx.solve.tune_storage import open_tune_storage

        job = self.job
        settings = TuneSettings.from_dict(dict(job.settings.get("tune") or {}))
        models = [str(m) for m in job.settings.get("models") or [job.task.model_path]]
        out = Path(job.task.output).parent if job.task.output else Path.cwd()
        result = tune(
            models,
            settings,
            storage=open_tune_storage(job.store),
            out=out,
            share=job.share,
            stop=self.stop_event,
            on_run=lambda line: job.emit(Log(self.job_id, line)),
            abandon=self.abandoned,
            group=job.group,
        )
        return TuneFinished(
            self.job_id,
            {"tune": result.to_dict()},
            f"{result.trials} trial(s) in study {result.study_name}",
        )


register(JobKind.SOLVE, SolveCoordinator)
register(JobKind.TUNE, TuneCoordinator)
