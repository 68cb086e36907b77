"""Solve and tune on this machine, through the controller like every other job.

:func:`solve` stores a solve job in a temporary store and runs it with a local executor;
:func:`tune` stores a tune job in the project's store (where its Optuna study lives). Both
wait for the end and hand back what the job recorded.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metagenx.controller.embedded import JobOutcome, run_job, temporary_store
from metagenx.engine.files import model_format
from metagenx.engine.result import FitResult
from metagenx.errors import SettingsError
from metagenx.events import Event, Log, Progress
from metagenx.jobs import JobKind, JobSpec
from metagenx.solve.job_settings import SOLVE_KEY, TUNE_KEY, parse_job_settings
from metagenx.solve.result import SolveResult, solve_result_of
from metagenx.solve.settings import SolveSettings
from metagenx.solve.starts import Model, SolveError, SolveProgress
from metagenx.store import JobState, NewJob, Store, StudyKind

if TYPE_CHECKING:
    from metagenx.solve.tune import TuneResult, TuneSettings

TUNE_REPORT_FILE = "tune.json"
"""The output file name a tune job is given: its report goes into that file's folder."""


def solve_job_settings(settings: SolveSettings) -> dict[str, Any]:
    """The stored settings of a solve job: the starts' fit settings (a seed drawn when none was
    given, so the run can be repeated from its record) beside the ``solve`` table."""
    table = settings.to_dict()
    fit = table.pop("fit")
    if fit.get("seed") is None:
        fit["seed"] = random.randrange(2**31)
    return {**fit, SOLVE_KEY: table}


def solve(
    model: str | Path | Model,
    settings: SolveSettings | None = None,
    *,
    out: str | Path | None = None,
    progress: Callable[[SolveProgress], None] | None = None,
    stop_event: threading.Event | None = None,
    workers: int | None = None,
) -> SolveResult:
    """Solve ``model`` (a model file, or a :class:`Model` with data and parameter changes) here.

    The solve is a job on a controller with a local executor of ``workers`` fit processes
    (default: ``settings.slots``, else the number of cores). With ``out`` (a ``.hgx``/``.gx``
    path) the best fit is written there with result.json, parameters.csv, fit.png, fom.png (and SVGs) and
    ``solve.json``; without it the files live only as long as the call. ``progress`` is called
    as the solve goes; ``stop_event`` ends it with the best answer so far (marked incomplete).
    Raises :class:`SolveError` when no start produced a fit.
    """
    from metagenx.executors import LocalExecutor

    settings = settings or SolveSettings()
    target = model if isinstance(model, Model) else Model(str(model))
    if target.start_values:
        raise SettingsError("a solve run here takes parameter overrides, not start values")
    model_format(target.path)  # a missing or foreign file is refused here, naming it
    with temporary_store() as store:
        folder = Path(store.engine.url.database or ".").parent
        output = Path(out).resolve() if out is not None else folder / "out" / f"{Path(target.path).stem}.hgx"
        spec = JobSpec(
            label=Path(target.path).name,
            model_path=str(Path(target.path).resolve()),
            settings=parse_job_settings(solve_job_settings(settings)),
            kind=JobKind.SOLVE,
            data=list(target.data),
            overrides=list(target.overrides),
            output=str(output),
        )
        job = NewJob.from_files(spec)
        listener = progress_listener(progress)
        executor = LocalExecutor(workers=workers or settings.slots)
        outcome = run_job(
            store,
            job,
            executor,
            study="solve",
            kind=StudyKind.SOLVE,
            directory=folder,
            listeners=[listener] if listener is not None else [],
            stop=stop_event,
        )
    if outcome.result is None:
        raise SolveError(outcome.error or f"the solve of {Path(target.path).name} ended {outcome.state}")
    result = solve_result_of(FitResult.from_dict(outcome.result))
    return result if out is not None else clear_outputs(result)


def clear_outputs(result: SolveResult) -> SolveResult:
    """``result`` without file paths (they pointed into a temporary folder, now gone)."""
    return dataclasses.replace(result, outputs={})


def progress_listener(progress: Callable[[SolveProgress], None] | None) -> Callable[[Event], None] | None:
    """A controller listener that turns a solve job's progress events into :class:`SolveProgress`."""
    if progress is None:
        return None

    def listen(event: Event) -> None:
        if isinstance(event, Progress) and event.solve is not None and event.best_fom is not None:
            s = event.solve
            progress(
                SolveProgress(
                    event.elapsed,
                    event.best_fom,
                    s.running,
                    s.ended,
                    s.agreeing,
                    s.confidence,
                    event.evaluations,
                )
            )

    return listen


def tune(
    models: Sequence[str | Path],
    settings: TuneSettings,
    *,
    store: Store,
    out: Path,
    workers: int | None = None,
    stop: threading.Event | None = None,
    on_run: Callable[[str], None] | None = None,
) -> TuneResult:
    """Run (or resume) a tune of ``models`` here as a tune job in ``store`` (the project's store,
    beside which its Optuna study lives); its report (best.toml, trials.csv, plots) goes into
    ``out``. ``on_run`` gets a line per finished solve; ``stop`` drops the running trial and
    ends the tune with the finished ones kept. Raises :class:`SettingsError` for a tune that
    failed (its message says why)."""
    from metagenx.executors import LocalExecutor
    from metagenx.solve.tune import study_name_for

    paths = [str(Path(m).resolve()) for m in models]
    for path in paths:
        model_format(path)
    if not paths:
        raise SettingsError("tune needs at least one model file")
    name = settings.study_name or study_name_for(paths)
    table = {**dataclasses.asdict(settings), "study_name": name}
    spec = JobSpec(
        label="tune",
        model_path=paths[0],
        settings={TUNE_KEY: table, "models": paths, "seed": 0},
        kind=JobKind.TUNE,
        output=str(out / TUNE_REPORT_FILE),
    )
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    outcome = run_job(
        store,
        NewJob.from_files(spec),
        LocalExecutor(workers=workers),
        study=f"{name} {started}",  # each run adds trials: a job of its own
        kind=StudyKind.TUNE,
        directory=out,
        listeners=[line_listener(on_run)] if on_run is not None else [],
        stop=stop,
    )
    return tune_result_of(outcome)


def line_listener(on_run: Callable[[str], None]) -> Callable[[Event], None]:
    def listen(event: Event) -> None:
        if isinstance(event, Log):
            on_run(event.message)

    return listen


def tune_result_of(outcome: JobOutcome) -> TuneResult:
    from metagenx.solve.tune import TuneResult

    if outcome.result is None or "tune" not in outcome.result:
        state = "was cancelled" if outcome.state is JobState.CANCELLED else f"ended {outcome.state}"
        raise SettingsError(outcome.error or f"the tune {state} without a report")
    return TuneResult(**outcome.result["tune"])
