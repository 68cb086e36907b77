"""Run one DE fit of a loaded model with GenX's own optimizer, stopping on convergence.

GenX's ``DiffEv`` loop runs unchanged (so a fit with GenX's settings and seed is
bit-identical to GenX's); metagenx watches each generation through the optimizer's
callbacks, reports progress, and sets the optimizer's stop flag when a rule fires.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from metagenx.engine.model import GenxModel, script_error
from metagenx.engine.result import DatasetCurve, FitResult, ParameterResult, StopReason
from metagenx.engine.runtime import genx
from metagenx.engine.settings import FitSettings, ResolvedSettings
from metagenx.engine.stopping import StopRule, population_spread
from metagenx.errors import ModelContentError, ModelScriptError
from metagenx.version import __version__

if TYPE_CHECKING:
    from metagenx.engine.posterior import SamplingStatus


@dataclass(frozen=True)
class Progress:
    """State after one generation. ``elapsed`` in seconds since the fit started; after the fit,
    while its posterior is sampled, ``sampling`` says how far that is (``elapsed`` then counts
    the sampling's seconds)."""

    generation: int
    best_fom: float
    evaluations: int
    elapsed: float
    sampling: SamplingStatus | None = None


ProgressCallback = Callable[[Progress], None]


def resolve_settings(model: GenxModel, settings: FitSettings) -> ResolvedSettings:
    """Merge the user's settings with the model file's optimizer settings."""
    opt = model.optimizer.opt
    n_dim = len(model.fit_parameters)
    population = settings.population or (int(opt.pop_mult * n_dim) if opt.use_pop_mult else int(opt.pop_size))
    if settings.max_generations is not None:
        max_generations = settings.max_generations
    elif opt.use_max_generations:
        max_generations = int(opt.max_generations)
    else:
        max_generations = int(opt.max_generation_mult * n_dim * population)
    genx_mode = settings.genx_defaults
    return ResolvedSettings(
        seed=settings.seed if settings.seed is not None else secrets.randbelow(2**32),
        km=float(opt.km if settings.km is None else settings.km),
        kr=float(opt.kr if settings.kr is None else settings.kr),
        population=max(population, 5),
        strategy=settings.strategy or str(opt.create_trial),
        max_generations=max_generations,
        max_evaluations=settings.max_evaluations,
        max_time=settings.max_time,
        tolerance=0.0 if genx_mode else settings.tolerance,
        window=settings.window,
        min_spread=float(opt.min_parameter_spread) / 100.0 if genx_mode else settings.min_spread,
        genx_defaults=genx_mode,
        error_bars=settings.error_bars,
        use_start_guess=bool(opt.use_start_guess),
        use_boundaries=bool(opt.use_boundaries),
    )


def configure_optimizer(optimizer: Any, resolved: ResolvedSettings) -> None:
    """Put ``resolved`` into GenX's optimizer: explicit population and generation cap, one process."""
    opt = optimizer.opt
    opt.km = resolved.km
    opt.kr = resolved.kr
    opt.use_pop_mult = False
    opt.pop_size = resolved.population
    opt.use_max_generations = True
    opt.max_generations = resolved.max_generations
    # GenX applies its own spread rule only in GenX mode; metagenx's StopRule covers it otherwise.
    opt.min_parameter_spread = resolved.min_spread * 100.0 if resolved.genx_defaults else 0.0
    opt.use_parallel_processing = False
    opt.use_mpi = False
    opt.use_autosave = False
    optimizer.set_create_trial(resolved.strategy)


class FitMonitor:
    """GenX optimizer callbacks: records history, reports progress, applies the stop rule."""

    def __init__(
        self,
        optimizer: Any,
        rule: StopRule,
        progress: ProgressCallback | None,
        stop_event: threading.Event | None,
    ) -> None:
        self.optimizer = optimizer
        self.rule = rule
        self.progress = progress
        self.stop_event = stop_event
        self.fom_history: list[float] = []
        self.time_history: list[float] = []
        self.reason: StopReason | None = None
        self.started = time.perf_counter()

    # GenX's GenxOptimizerCallback interface -------------------------------------------
    def text_output(self, text: str) -> None:
        pass

    def plot_output(self, update_data: Any) -> None:
        pass

    def fitting_ended(self, result_data: Any) -> None:
        pass

    def autosave(self) -> None:
        pass

    def parameter_output(self, info: Any) -> None:
        """Called by GenX once before the first generation and after every generation."""
        opt = self.optimizer
        elapsed = time.perf_counter() - self.started
        best = float(opt.best_fom)
        self.fom_history.append(best)
        self.time_history.append(elapsed)
        generation = len(self.fom_history) - 1
        if self.progress is not None:
            self.progress(Progress(generation, best, int(opt.n_fom), elapsed))
        if self.reason is not None:
            return
        if self.stop_event is not None and self.stop_event.is_set():
            self.reason = StopReason.REQUESTED
        else:
            spread = population_spread(info.population, info.min_val, info.max_val)
            self.reason = self.rule.check(self.fom_history, int(opt.n_fom), elapsed, spread)
        if self.reason is not None:
            opt.stop = True


def run_fit(
    model: GenxModel,
    settings: FitSettings | None = None,
    *,
    progress: ProgressCallback | None = None,
    stop_event: threading.Event | None = None,
) -> FitResult:
    """Fit ``model`` in this process and return the result; the model holds the fitted values after.

    Same model file + same resolved settings (seed included) ⇒ bit-identical result.
    ``stop_event`` set from another thread (or a signal handler) stops the fit after
    the current generation; the best result so far is returned.
    Raises :class:`ModelScriptError` / :class:`ModelContentError` for models that cannot run.
    """
    settings = settings or FitSettings()
    modules = genx()
    optimizer = model.optimizer
    saved_config = optimizer.opt.copy()
    resolved = resolve_settings(model, settings)
    model.check_fittable(resolved.use_boundaries)
    fom_start = model.simulate()
    starts = {p.name: p.value for p in model.fit_parameters}
    model.model.parameters.clear_error_pars()

    configure_optimizer(optimizer, resolved)
    rule = StopRule(
        resolved.tolerance,
        resolved.window,
        0.0 if resolved.genx_defaults else resolved.min_spread,
        resolved.max_evaluations,
        resolved.max_time,
    )
    monitor = FitMonitor(optimizer, rule, progress, stop_event)
    optimizer.set_callbacks(monitor)
    optimizer.stop = False
    np.random.seed(resolved.seed)
    random.seed(resolved.seed)
    try:
        optimizer.reset()
        optimizer.init_fitting(model.model)
        monitor.started = time.perf_counter()
        optimizer.optimize()
    except modules.exceptions.ParameterError as exc:
        raise ModelContentError(f"parameter grid: {exc}") from None
    except Exception:
        raise script_error("the model failed during the fit", traceback.format_exc(), model.script) from None
    finally:
        optimizer.running = False
    wall_time = time.perf_counter() - monitor.started
    if optimizer.error:
        raise ModelScriptError(f"GenX stopped the fit: {optimizer.error}")

    reason = monitor.reason or stop_reason_after_loop(optimizer, resolved, len(monitor.fom_history) - 1)
    best_vec = np.array(optimizer.best_vec, dtype=float)
    model.set_fit_values(best_vec)
    fom = model.simulate()
    errors = error_bars(model) if resolved.error_bars else None
    restore_file_settings(optimizer, saved_config, resolved)

    fit_rows = model.fit_parameters
    parameters = [
        ParameterResult(
            name=p.name,
            value=p.value,
            start=starts[p.name],
            min=p.min,
            max=p.max,
            error_low=None if errors is None else float(errors[i][0]),
            error_high=None if errors is None else float(errors[i][1]),
        )
        for i, p in enumerate(fit_rows)
    ]
    result = FitResult(
        model_path=str(model.path),
        fom_name=model.fom_name,
        fom_start=float(fom_start),
        fom=float(fom),
        parameters=parameters,
        generations=len(monitor.fom_history) - 1,
        evaluations=int(optimizer.n_fom),
        wall_time=wall_time,
        seed=resolved.seed,
        settings=resolved,
        stop_reason=reason,
        fom_history=monitor.fom_history,
        time_history=monitor.time_history,
        datasets=dataset_curves(model),
        genx_version=modules.version,
        metagenx_version=__version__,
        complete=reason is not StopReason.REQUESTED,
    )
    return result


def stop_reason_after_loop(optimizer: Any, resolved: ResolvedSettings, generations: int) -> StopReason:
    """Why GenX's loop ended when no metagenx rule fired: its generation cap or its spread rule."""
    if generations >= resolved.max_generations:
        return StopReason.MAX_GENERATIONS
    return StopReason.GENX_SPREAD


def error_bars(model: GenxModel) -> np.ndarray:
    """GenX's error bars (low, high offsets) per fitted parameter; also written into the grid."""
    values = np.asarray(model.controller.CalcErrorBars(), dtype=float)
    model.controller.set_error_pars([f"({low:.3e}, {high:.3e})" for low, high in values])
    return values


def restore_file_settings(optimizer: Any, saved: Any, resolved: ResolvedSettings) -> None:
    """Put back the file's GenX settings, keeping the DE constants and population the fit used."""
    optimizer.opt = saved
    optimizer.opt.km = resolved.km
    optimizer.opt.kr = resolved.kr
    optimizer.set_create_trial(resolved.strategy)
    file_population = (
        int(saved.pop_mult * len(optimizer.par_min)) if saved.use_pop_mult else int(saved.pop_size)
    )
    if file_population != resolved.population:
        optimizer.opt.use_pop_mult = False
        optimizer.opt.pop_size = resolved.population


INSTRUMENT_AXES = {"q": "q", "tth": "2theta", "2θ": "2theta"}
"""GenX instrument ``coords`` → :data:`~metagenx.engine.result.X_AXES` names."""


def instrument_axis(model: GenxModel) -> str:
    """What the data's x is by the model's instruments' ``coords``: ``q``, ``2theta`` or ``""``
    (no instrument, or instruments that disagree)."""
    module = getattr(model.model, "script_module", None)
    names = vars(module).values() if module is not None else ()
    instruments = [value for value in names if type(value).__name__ == "Instrument"]
    coords = {str(getattr(i, "coords", "")).strip().strip("'\"").lower() for i in instruments}
    found = {INSTRUMENT_AXES.get(c, "") for c in coords}
    return found.pop() if len(found) == 1 else ""


def dataset_curves(model: GenxModel) -> list[DatasetCurve]:
    """Measured and simulated points of every data set, after the last simulation."""
    x_axis = instrument_axis(model)
    curves = []
    for d in model.model.data:
        simulated = getattr(d, "y_sim", None)
        y_sim = np.asarray(
            simulated if simulated is not None and len(simulated) else np.full(len(d.x), np.nan)
        )
        curves.append(
            DatasetCurve(
                name=str(d.name),
                use=bool(d.use),
                x=[float(v) for v in np.asarray(d.x)],
                y=[float(v) for v in np.asarray(d.y)],
                error=[float(v) for v in np.asarray(d.error)],
                simulated=[float(v) for v in y_sim],
                x_axis=x_axis,
            )
        )
    return curves
