"""Solve a model: race independent DE starts on an executor, polish the leader, say how sure it is.

:func:`solve_on` (a solve job's coordinator calls it with its share of the controller's
executor; :func:`metagenx.solve.local.solve` submits such a job) launches one start per free
slot (each start's seed derived from the solve's seed, :func:`start_seed`), feeds every
progress event to a :class:`~metagenx.solve.racing.Race`, stops the starts the race names
(their slots go to new starts), and ends as soon as the confidence that the best answer is
the global minimum reaches the target (:mod:`metagenx.solve.evidence`: an estimate of the
basins the starts have not found yet; with ``share`` set, also only after
:func:`~metagenx.solve.racing.starts_needed` ended starts), when the budget is spent, on
``stop_event``, or after ``max_starts``. Starts alternate (``scatter``) between full DE
starts and scatter starts (a few DE generations from a random population, then the polish:
a cheap local search from a random point). Each start that converges is polished in its
runner; the best answer is then re-run as a short finishing task (the best parameters as
start values, one generation of a population of 5, the polish) that writes the usual output
files when ``out`` is given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.controller.coordinated import ExecutorShare, Inbox
from metagenx.engine.flags import explain
from metagenx.engine.result import FitResult, StopReason
from metagenx.events import (
    Crashed,
    Dropped,
    ExecutorEvent,
    Failed,
    Finished,
    Progress,
    Violation,
    is_terminal,
)
from metagenx.jobs import FitTask, ParameterOverride
from metagenx.outputs.collect import collect, fit_outputs
from metagenx.outputs.names import SOLVE_JSON
from metagenx.solve.racing import Race, RacingRule, starts_needed
from metagenx.solve.result import SolveResult, StartSummary, parameter_spread
from metagenx.solve.settings import SolveSettings
from metagenx.solve.starts import (
    FATAL_KINDS,
    Model,
    Running,
    SolveAbandoned,
    SolveError,
    SolveProgress,
    is_scatter,
)

log = logging.getLogger(__name__)


class Solver:
    """One solve in progress; :func:`solve_on` is the way to run it."""

    def __init__(
        self,
        model: Model,
        settings: SolveSettings,
        share: ExecutorShare,
        progress: Callable[[SolveProgress], None] | None,
        stop_event: threading.Event | None,
        abandon: threading.Event | None = None,
        group: str | None = None,
    ) -> None:
        self.model = model
        self.settings = settings
        self.share = share
        self.progress = progress
        self.stop_event = stop_event or threading.Event()
        self.inbox: Inbox = queue.Queue()
        self.slots = min(settings.slots or share.capacity, settings.max_starts)
        self.base_seed = settings.fit.seed if settings.fit.seed is not None else int(time.time_ns() % 2**31)
        self.race = Race(self.rule(settings.fit.population or 50))
        floor = settings.share
        self.needed = 0 if floor is None else starts_needed(settings.target_reliability, floor)
        self.population_known = settings.fit.population is not None
        self.running: dict[int, Running] = {}
        self.starts: list[StartSummary] = []
        self.results: dict[int, FitResult] = {}
        self.trace: list[tuple[float, float]] = []
        self.start_traces: dict[int, list[tuple[float, float]]] = {}
        """Per start: (s since the solve began, its best FOM) at each of its improvements."""
        self.evaluations: dict[int, int] = {}
        self.launched = 0
        self.started = time.monotonic()
        self.ending: str | None = None
        self.fatal: str | None = None
        self.abandon = abandon or threading.Event()
        self.group = group or f"solve:{model.path}"

    def rule(self, population: int) -> RacingRule:
        s = self.settings
        return RacingRule(s.margin, s.grace * population, s.patience * population, s.agree)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> str:
        """Race starts until the solve should end; return why it ended."""
        self.fill()
        while self.running and not self.abandon.is_set():
            timeout = max(0.05, min(0.5, self.settings.budget - self.elapsed()))
            with contextlib.suppress(queue.Empty):
                self.handle(self.inbox.get(timeout=timeout))
            self.check_end()
            self.fill()
        return self.ending or "all starts ended"

    def fill(self) -> None:
        """Launch new starts into free slots unless the solve is ending."""
        while (
            self.ending is None
            and len(self.running) < self.slots
            and self.launched < self.settings.max_starts
        ):
            self.launch()

    def launch(self) -> None:
        start_id = self.launched
        self.launched += 1
        seed = start_seed(self.base_seed, start_id)
        job_id = self.share.new_job_id(self.inbox)
        settings = {**self.settings.fit.to_dict(), "seed": seed}
        scatter = is_scatter(start_id, self.settings.scatter)
        if scatter:
            settings.update(max_generations=self.settings.scatter_generations, polish=True)
        self.running[job_id] = Running(start_id, job_id, seed, self.elapsed(), scatter=scatter)
        self.share.submit(self.task(job_id, settings), self.group)

    def task(
        self, job_id: int, settings: dict[str, Any], best: FitResult | None = None, output: str | None = None
    ) -> FitTask:
        """A start's task; with ``best``, the finishing task that begins at its values exactly.

        The best values go in as parameter overrides, not start values: start values are clipped
        into the bounds, and a file with ``use_boundaries = False`` lets DE leave them.
        """
        overrides = list(self.model.overrides)
        if best is not None:
            overrides += [ParameterOverride(p.name, value=p.value) for p in best.parameters]
        return FitTask(
            job_id=job_id,
            model_path=self.model.path,
            settings=settings,
            data=list(self.model.data),
            overrides=overrides,
            start_values={} if best is not None else dict(self.model.start_values),
            output=output,
        )

    def handle(self, event: ExecutorEvent) -> None:
        run = self.running.get(event.job_id)
        if run is None:
            return
        if isinstance(event, Progress):
            if not self.population_known and event.generation == 0 and event.evaluations > 0:
                self.race.rule = self.rule(event.evaluations)
                self.population_known = True
            self.evaluations[run.start_id] = event.evaluations
            best = math.inf if event.best_fom is None else event.best_fom
            self.race.observe(run.start_id, event.elapsed, event.evaluations, best)
            self.improved(best, run.start_id)
            for decision in self.race.decide():
                stopped = next((r for r in self.running.values() if r.start_id == decision.start_id), None)
                if stopped is not None and stopped.stop_reason is None:
                    log.info("start %s: %s", decision.start_id, decision.reason)
                    stopped.stop_reason = f"stopped: {decision.reason}"
                    self.share.stop(stopped.job_id)
        elif is_terminal(event):
            self.finish(run, event)
        self.report()

    def finish(self, run: Running, event: ExecutorEvent) -> None:
        del self.running[run.job_id]
        self.share.forget(run.job_id)
        if not isinstance(event, Finished):
            message = failure_text(event)
            if isinstance(event, Failed) and event.kind in FATAL_KINDS and not self.results:
                self.fatal = message
                self.end_all("the model cannot be fitted")
            self.race.forget(run.start_id)
            self.starts.append(
                StartSummary(
                    run.start_id, run.seed, run.launched, self.elapsed(), math.inf, 0, f"error: {message}"
                )
            )
            return
        result = event.result
        self.results[run.start_id] = result
        self.evaluations[run.start_id] = result.evaluations
        converged = result.stop_reason in (StopReason.CONVERGED_FOM, StopReason.CONVERGED_SPREAD)
        complete = converged and not run.scatter and run.stop_reason is None
        self.race.end(run.start_id, result.fom, result.evaluations, result.wall_time, complete=complete)
        self.improved(result.fom, run.start_id)
        ended = "scatter" if run.scatter else "converged"
        outcome = run.stop_reason or ("budget" if result.stop_reason is StopReason.REQUESTED else ended)
        self.starts.append(
            StartSummary(
                start_id=run.start_id,
                seed=run.seed,
                launched=run.launched,
                ended=self.elapsed(),
                fom=result.fom,
                evaluations=result.evaluations,
                outcome=outcome,
                polished="polish" in result.extra,
                values=result.values,
                trace=self.start_traces.get(run.start_id, []),
            )
        )

    def improved(self, fom: float, start_id: int | None = None) -> None:
        """Note ``fom`` in the solve's trace and (with ``start_id``) in that start's, if it is better."""
        if not math.isfinite(fom):
            return
        now = self.elapsed()
        if not self.trace or fom < self.trace[-1][1]:
            self.trace.append((now, fom))
        if start_id is not None:
            own = self.start_traces.setdefault(start_id, [])
            if not own or fom < own[-1][1]:
                own.append((now, fom))

    def check_end(self) -> None:
        if self.ending is not None:
            return
        if self.stop_event.is_set():
            self.end_all("stopped on request")
        elif self.elapsed() >= self.settings.budget:
            self.end_all("time budget reached")
        elif (evidence := self.race.evidence()).confidence >= self.settings.target_reliability and len(
            self.race.ended()
        ) >= self.needed:
            self.end_all(f"sure enough (confidence {evidence.confidence:.3f}): {evidence.describe()}")
        elif self.launched >= self.settings.max_starts and not self.running:
            self.ending = "all starts used"

    def end_all(self, reason: str) -> None:
        """Stop launching; ask every running start to stop (their best results still come back)."""
        self.ending = reason
        for run in self.running.values():
            self.share.stop(run.job_id)

    def report(self) -> None:
        if self.progress is not None:
            self.progress(
                SolveProgress(
                    elapsed=self.elapsed(),
                    best_fom=self.trace[-1][1] if self.trace else math.inf,
                    running=len(self.running),
                    ended=len(self.race.ended()),
                    agreeing=self.race.agreeing(),
                    confidence=self.race.confidence(),
                    evaluations=sum(self.evaluations.values()),
                )
            )

    # -- the end -----------------------------------------------------------------------------
    def finishing(self, best: FitResult, out: Path | None) -> tuple[FitResult, dict[str, str], list[str]]:
        """Re-run the best answer briefly: polish it (if not yet) and write the outputs (with ``out``).

        Returns the final fit, its files (kind → path, found under their fixed names), and notes."""
        stopped = self.stop_event.is_set()  # interrupted: write what there is, quickly
        needs_polish = self.settings.fit.polish and "polish" not in best.extra and not stopped
        if out is None and not needs_polish:
            return best, {}, []
        notes = []
        if not best.settings.use_start_guess:
            notes.append(
                "the model file does not use start guesses: the finishing step may not keep the best"
            )
        settings = {
            **self.settings.fit.to_dict(),
            "seed": best.seed,
            "population": 5,
            "max_generations": 1,
            "max_time": None,
            "max_evaluations": None,
            "polish": self.settings.fit.polish and not stopped,
        }
        job_id = self.share.new_job_id(self.inbox)
        task = self.task(job_id, settings, best=best, output=None if out is None else str(out))
        self.share.submit(task, self.group)
        while True:
            try:
                event = self.inbox.get(timeout=0.5)
            except queue.Empty:
                if self.abandon.is_set():
                    raise SolveAbandoned("the solve was abandoned during its finishing step") from None
                continue
            if event.job_id == job_id and is_terminal(event):
                break
        self.share.forget(job_id)
        if not isinstance(event, Finished):
            raise SolveError(f"the finishing step of the best fit failed: {failure_text(event)}")
        final = event.result
        self.improved(final.fom)
        files = {} if out is None else collect(out.parent, fit_outputs(out)).files
        artifacts = {kind: str(path) for kind, path in files.items()}
        if final.fom > best.fom:
            notes.append(
                f"the finishing step found FOM {final.fom:.6g}, worse than {best.fom:.6g}; kept the start's"
            )
            return best, artifacts, notes
        return final, artifacts, notes


def start_seed(base_seed: int, start_id: int) -> int:
    """The seed of start ``start_id`` of a solve seeded ``base_seed`` (a 32-bit integer).

    Derived through NumPy's :class:`~numpy.random.SeedSequence` (the start's id as its spawn
    key), so the starts of solves with different seeds share nothing, however close the seeds,
    and the same seed always gives the same starts.
    """
    sequence = np.random.SeedSequence(base_seed, spawn_key=(start_id,))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def failure_text(event: ExecutorEvent) -> str:
    """Why a start's task ended without a fit, for people."""
    match event:
        case Failed(message=message):
            return message
        case Crashed(reason=reason) | Dropped(reason=reason) | Violation(reason=reason):
            return reason
        case _:
            return event.type


def solve_on(
    share: ExecutorShare,
    model: Model,
    settings: SolveSettings,
    *,
    out: str | Path | None = None,
    progress: Callable[[SolveProgress], None] | None = None,
    stop_event: threading.Event | None = None,
    abandon: threading.Event | None = None,
    group: str | None = None,
) -> SolveResult:
    """Solve ``model`` (its file, data and parameter changes) with the starts on ``share``.

    With ``out`` (a ``.hgx``/``.gx`` path) the best fit is written there with result.json,
    parameters.csv, fit.png, fom.png (and SVGs), plus ``solve.json`` beside it. Raises
    :class:`SolveError` when no start produced a fit.

    ``stop_event`` ends the solve early with the best answer so far (its outputs written,
    marked incomplete); ``abandon`` ends it at once without waiting for the running starts or
    writing anything (:class:`SolveAbandoned`), for an owner that is shutting down. ``group``
    is the executor group of the starts (which warm runners they may share).
    """
    target = model
    solver = Solver(target, settings, share, progress, stop_event, abandon, group)
    reason = solver.run()
    if solver.abandon.is_set():
        raise SolveAbandoned(f"the solve of {Path(target.path).name} was abandoned")
    if not solver.results:
        raise SolveError(solver.fatal or f"no start produced a fit ({len(solver.starts)} failed)")
    best = min(solver.results.values(), key=lambda r: r.fom)
    out_path = None if out is None else Path(out)
    final, artifacts, notes = solver.finishing(best, out_path)
    final = the_solves_answer(final, best)
    if solver.stop_event.is_set():  # stopped on request: the best so far, not the solve's answer
        final = dataclasses.replace(final, complete=False)
    notes += [f"{name}: {explain(flag)}" for name, flags in final.flags.items() for flag in flags]
    starts = sorted(solver.starts, key=lambda s: s.start_id)
    evidence = solver.race.evidence()
    result = SolveResult(
        model_path=target.path,
        best=final,
        starts=starts,
        agreeing=solver.race.agreeing(),
        confidence=evidence.confidence,
        searches=evidence.searches,
        minima=evidence.minima,
        spread=parameter_spread(final, starts, settings.agree),
        trace=solver.trace,
        wall_time=solver.elapsed(),
        stop_reason=reason,
        settings=settings.to_dict(),
        outputs=artifacts,
        notes=notes,
    )
    if out_path is not None:
        write_solve_files(result, out_path)
    return result


def the_solves_answer(final: FitResult, best: FitResult) -> FitResult:
    """The answer as a solve's files tell it: the finishing step's values and FOM, with the model
    file's start values (not the best values the finishing step began at) and the run of the start
    that found it (its stop reason, generations, evaluations, time and FOM history)."""
    if final is best:
        return best
    starts = {p.name: p.start for p in best.parameters}
    return dataclasses.replace(
        final,
        parameters=[dataclasses.replace(p, start=starts.get(p.name, p.start)) for p in final.parameters],
        fom_start=best.fom_start,
        stop_reason=best.stop_reason,
        generations=best.generations,
        evaluations=best.evaluations,
        wall_time=best.wall_time,
        fom_history=best.fom_history,
        time_history=best.time_history,
        seed=best.seed,
    )


def write_solve_files(result: SolveResult, out_path: Path) -> None:
    """``solve.json`` beside the answer, and the answer's own files rewritten as the solve's:
    result.json and parameters.csv (the file's start values, the solve's account in
    ``extra["solve"]``, incomplete when interrupted), fom.png/fom.svg (every start's best FOM
    against time). Written by the solve's owner, never by a runner."""
    from metagenx.outputs.files import write_atomic
    from metagenx.outputs.plots import rendered
    from metagenx.outputs.tables import parameters_csv
    from metagenx.solve.plots import solve_fom_figure

    solve_json = out_path.with_name(SOLVE_JSON)
    write_atomic(solve_json, (result.to_json() + "\n").encode("utf-8"))
    result.outputs["solve_json"] = str(solve_json)
    answer = dataclasses.replace(result.best, extra={**result.best.extra, "solve": result.account()})
    files = result.outputs
    if "result_json" in files:
        write_atomic(Path(files["result_json"]), (answer.to_json() + "\n").encode("utf-8"))
    if "parameters_csv" in files:
        write_atomic(Path(files["parameters_csv"]), parameters_csv(answer).encode("utf-8"))
    if "fom_png" in files or "fom_svg" in files:
        png, svg = rendered(solve_fom_figure(result), "png", "svg")
        for kind, content in (("fom_png", png), ("fom_svg", svg)):
            if kind in files:
                write_atomic(Path(files[kind]), content)
