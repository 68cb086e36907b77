"""The Python API, for scripts and notebooks.

A fit here is a job like any other: it is stored (in a temporary job store), claimed by a
controller and run by an executor, the same path a study or a server takes. The Python API's
executor runs the fit on a thread of this process (your own file, in your own process, as
GenX does); ``metagenx fit`` hands :func:`fit_as_job` a fit process of its own instead.
"""

from __future__ import annotations

import dataclasses
import os
import random
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metagenx.api.progress import fit_bar, solve_bar
from metagenx.engine.fit import Progress, ProgressCallback
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings
from metagenx.errors import error_named
from metagenx.events import Event, Finished
from metagenx.events import Progress as ProgressEvent
from metagenx.executors.base import Executor

if TYPE_CHECKING:  # solve's modules load the controller: only when a solve runs
    from metagenx.solve.result import SolveResult
    from metagenx.solve.settings import SolveSettings
    from metagenx.solve.starts import SolveProgress


def load(path: str | os.PathLike[str]) -> GenxModel:
    """Load a GenX ``.hgx`` or ``.gx`` model file (GenX 2 and 3); the file is never modified."""
    return GenxModel.load(path)


def fit(
    path: str | os.PathLike[str] | GenxModel,
    *,
    out: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | bool | None = None,
    stop_event: threading.Event | None = None,
    settings: FitSettings | None = None,
    **setting_values: Any,
) -> FitResult:
    """Fit a model file (or a loaded model) and return the result.

    Keyword settings are those of :class:`FitSettings` (``seed``, ``km``, ``kr``,
    ``population``, ``strategy``, ``max_generations``, ``max_evaluations``,
    ``max_time`` in s, ``tolerance``, ``window``, ``min_spread``, ``genx_defaults``,
    ``error_bars``, ``polish``, ``uncertainty``: sample the posterior after the fit, see
    :mod:`metagenx.engine.posterior`, with ``uncertainty_samples``, ``uncertainty_burn`` and
    ``uncertainty_time``). The posterior's summary is ``result.extra["posterior"]``, its 68 %
    intervals the parameters' ``error_low``/``error_high``. With ``out``, the fitted model and the
    result files (``result.json``, ``parameters.csv``, ``fit.png``, ``fom.png``, …, and with a
    posterior ``corner.png``, ``band.png`` and ``posterior_draws.csv``) are written beside it.
    ``progress``: a callable is called with a :class:`~metagenx.engine.fit.Progress` after every
    generation (and while the posterior is sampled); ``True`` shows a progress bar (generation,
    best FOM), ``False`` none;
    by default the bar is shown in a notebook or a terminal and not when output goes elsewhere.
    ``result.to_frame()`` gives the parameters as a pandas DataFrame. Setting ``stop_event`` ends
    the fit after its generation with the best values so far (``complete`` False). GenX's
    numpy kernels are used unless ``METAGENX_KERNELS=numba`` (a fit process of its own, as
    ``metagenx fit`` runs, times both and keeps the faster: :mod:`metagenx.engine.kernels`). A loaded
    model is fitted as it is in memory and is left holding the fitted values. Raises the
    :class:`~metagenx.errors.MetagenxError` the fit ended with.
    """
    from metagenx.engine.kernels import follow_forced
    from metagenx.executors.inprocess import InProcessExecutor

    chosen = (settings or FitSettings()).replace(**setting_values)
    follow_forced()  # this process's kernels: numpy unless METAGENX_KERNELS=numba
    label = path.path.name if isinstance(path, GenxModel) else Path(path).name
    with tempfile.TemporaryDirectory(prefix="metagenx-fit-") as folder, fit_bar(progress, label) as report:
        if isinstance(path, GenxModel):
            model_file = path.save(Path(folder) / f"{path.path.stem}.hgx")
        else:
            model_file = Path(path)
        result = fit_as_job(
            model_file,
            chosen,
            InProcessExecutor(),
            output=None if out is None else Path(out),
            directory=Path(folder),
            progress=report,
            stop=stop_event,
        )
    if isinstance(path, GenxModel):
        path.set_fit_values([p.value for p in result.parameters])
        result = dataclasses.replace(result, model_path=str(path.path))
    return result


def solve(
    path: str | os.PathLike[str],
    *,
    budget: float | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: Callable[[SolveProgress], None] | bool | None = None,
    stop_event: threading.Event | None = None,
    workers: int | None = None,
    target_reliability: float | None = None,
    settings: SolveSettings | None = None,
    **fit_values: Any,
) -> SolveResult:
    """Solve a model file: race seeded DE starts on this machine's cores until enough agree on the
    best FOM (or ``budget`` s pass), as ``metagenx solve`` does, and return the answer.

    Keyword settings are the starts' :class:`FitSettings` (``seed``, ``km``, ``population``,
    ``max_generations``, …); ``budget`` (s), ``target_reliability`` and ``workers`` (fit processes,
    default: the cores) set the solve, else ``settings`` (a :class:`SolveSettings`) or its
    defaults. With ``out`` (a ``.hgx`` path) the best fit is written there with result.json,
    parameters.csv, fit.png, fom.png (and SVGs) and solve.json. ``progress``: a callable gets a
    :class:`~metagenx.solve.starts.SolveProgress` as the solve goes; ``True``/``False``/default as
    for :func:`fit`. ``result.to_frame()`` gives the parameters with their spread over the agreeing
    starts, ``result.starts_frame()`` the starts. Raises
    :class:`~metagenx.solve.starts.SolveError` when no start produced a fit.
    """
    from metagenx.solve.local import solve as solve_here
    from metagenx.solve.settings import SolveSettings

    chosen = settings or SolveSettings()
    changes: dict[str, Any] = {"budget": budget, "target_reliability": target_reliability}
    if fit_values:
        changes["fit"] = chosen.fit.replace(**fit_values)
    chosen = dataclasses.replace(chosen, **{k: v for k, v in changes.items() if v is not None})
    with solve_bar(progress, Path(path).name, chosen.budget) as report:
        target = None if out is None else Path(out)
        return solve_here(
            Path(path), chosen, out=target, progress=report, stop_event=stop_event, workers=workers
        )


def fit_as_job(
    model: Path,
    settings: FitSettings,
    executor: Executor,
    *,
    output: Path | None,
    directory: Path,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> FitResult:
    """Fit ``model`` as a job of a temporary store through a controller on ``executor``.

    The job's files go to ``output`` (a ``.hgx``/``.gx`` path; default: a folder under
    ``directory``). A missing seed is drawn here, so the result records the one used. Raises
    the error the fit ended with (e.g. :class:`~metagenx.errors.ModelScriptError`).
    """
    from metagenx.controller.embedded import run_job, temporary_store
    from metagenx.engine.files import model_format
    from metagenx.jobs import JobSpec
    from metagenx.solve.job_settings import parse_job_settings
    from metagenx.store import NewJob, StudyKind

    model_format(model)  # a missing or foreign file is refused here, naming it
    chosen = settings.to_dict()
    if chosen.get("seed") is None:
        chosen["seed"] = random.randrange(2**31)
    spec = JobSpec(
        label=model.name,
        model_path=str(model.resolve()),
        settings=parse_job_settings(chosen),
        output=None if output is None else str(output.resolve()),
    )
    ended: list[FitResult] = []

    def listen(event: Event) -> None:
        if isinstance(event, ProgressEvent) and event.best_fom is not None and progress is not None:
            progress(
                Progress(event.generation, event.best_fom, event.evaluations, event.elapsed, event.sampling)
            )
        elif isinstance(event, Finished):
            ended.append(event.result)  # with its data curves, which the store leaves out

    with temporary_store() as store:
        outcome = run_job(
            store,
            NewJob.from_files(spec),
            executor,
            study="fit",
            kind=StudyKind.FIT,
            directory=directory,
            listeners=[listen],
            stop=stop,
        )
    if outcome.result is None:
        message = outcome.error or f"the fit of {model.name} ended {outcome.state} without a result"
        raise error_named(outcome.error_kind or "", message)
    stored = FitResult.from_dict(outcome.result)
    return dataclasses.replace(ended[-1], model_path=stored.model_path) if ended else stored
