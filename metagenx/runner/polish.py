"""Local polish of a fitted model: a bounded local optimizer started from the DE result.

It runs in the runner, right after the fit it polishes (:func:`fit_and_polish`), when the fit's
settings ask for it (solve asks for it for every start that converges).

GenX's FOM is ``Σ |eᵢ|`` over the points of the data sets in use (divided by the degrees
of freedom for some FOM functions, plus the script's penalty terms). With signed residuals
``rᵢ = sign(eᵢ)·√|eᵢ|`` the FOM is ``Σ rᵢ²``, so for FOMs whose elements are squares
(``chi2bars``, ``R2``, ``logR2``) the residuals are smooth and
``scipy.optimize.least_squares`` (trust-region reflective, inside the bounds) converges in a
few steps. For the other FOMs (``log``, ``diff``, ``sqrt``, ``chibars``, …: sums of absolute
values) it minimizes the elements ``eᵢ`` with the ``soft_l1`` loss, a smooth stand-in for
``Σ |eᵢ|``, and then refines with bounded Powell on the FOM itself.

Promises: the FOM never gets worse (the best point evaluated is kept, the start included);
every point evaluated lies inside the parameter bounds (widened to include the start only
when the file lets DE leave its bounds, GenX's ``use_boundaries = False``); at most
``max_evaluations`` FOM evaluations (default :func:`default_evaluations`); a set ``stop``
event ends the polish at the next evaluation with the best point so far.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from metagenx.engine.fit import ProgressCallback, run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings

SQUARED_FOMS = frozenset({"chi2bars", "R2", "logR2"})
"""GenX FOM functions whose elements are (signed) squares: least squares applies directly."""
EVALUATIONS_PER_PARAMETER = 60
MIN_EVALUATIONS = 400


def default_evaluations(parameters: int) -> int:
    """Polish budget in FOM evaluations for ``parameters`` fitted parameters (enough to converge)."""
    return max(MIN_EVALUATIONS, EVALUATIONS_PER_PARAMETER * parameters)


@dataclass(frozen=True)
class PolishOutcome:
    """What a polish did. FOMs as GenX computes them; ``wall_time`` in s."""

    fom_before: float
    fom_after: float
    evaluations: int
    wall_time: float
    method: str
    values: list[float]

    @property
    def improved(self) -> bool:
        return self.fom_after < self.fom_before


class Budget(Exception):
    """Raised inside the objective when the evaluation budget is spent or a stop was requested."""


class Objective:
    """FOM and residuals of the model's fit parameters; remembers the best point it evaluated."""

    def __init__(self, model: GenxModel, max_evaluations: int, stop: threading.Event | None) -> None:
        self.gm = model.model
        funcs, values, low, high = self.gm.get_fit_pars(use_bounds=False)
        self.funcs: list[Callable[[float], None]] = list(funcs)
        self.start = np.asarray(values, dtype=float)
        low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
        self.low, self.high = np.minimum(low, self.start), np.maximum(high, self.start)
        self.max_evaluations = max_evaluations
        self.stop = stop
        self.evaluations = 0
        self.best_fom = np.inf
        self.best_x = self.start.copy()
        used = [d.use for d in self.gm.data]
        self.used = used
        points = sum(len(d.y) for d, u in zip(self.gm.data, used, strict=True) if u)
        self.dof_scale = 1.0
        if getattr(self.gm.fom_func, "__div_dof__", False):
            self.dof_scale = 1.0 / max(points - len(self.funcs), 1)

    def evaluate(self, x: np.ndarray, *, first: bool = False) -> tuple[float, np.ndarray | None]:
        """FOM at ``x`` (clipped into the box) and the FOM elements of the used data sets (None: failed).

        Raises :class:`Budget` when the budget is spent or a stop was requested (``first``: never).
        """
        spent = self.evaluations >= self.max_evaluations or (self.stop is not None and self.stop.is_set())
        if spent and not first:
            raise Budget
        x = np.clip(np.asarray(x, dtype=float), self.low, self.high)
        self.evaluations += 1
        try:
            for func, value in zip(self.funcs, x, strict=True):
                func(float(value))
            self.gm.script_module._sim = False
            simulated = self.gm.script_module.Sim(self.gm.data)
            raw, _individual, fom = self.gm.calc_fom(simulated)
            elements = np.hstack(
                [
                    self.gm.fom_mask_func(np.asarray(r, dtype=float))
                    for r, u in zip(raw, self.used, strict=True)
                    if u
                ]
            )
            fom = float(fom)
        except Exception:  # a parameter region where the model cannot be computed
            return np.inf, None
        if not np.isfinite(fom):
            return np.inf, None
        if fom < self.best_fom:
            self.best_fom, self.best_x = fom, x.copy()
        return fom, elements

    def fom(self, x: np.ndarray) -> float:
        return self.evaluate(x)[0]

    def signed_sqrt_residuals(self, x: np.ndarray) -> np.ndarray:
        """``sign(e)·√|e|`` (scaled as the FOM is), plus √penalty: their squares sum to the FOM."""
        fom, elements = self.evaluate(x)
        return self.residual_vector(fom, elements, squared=True)

    def element_residuals(self, x: np.ndarray) -> np.ndarray:
        """The scaled FOM elements themselves (for the soft-L1 stand-in of ``Σ|e|``)."""
        fom, elements = self.evaluate(x)
        return self.residual_vector(fom, elements, squared=False)

    def residual_vector(self, fom: float, elements: np.ndarray | None, *, squared: bool) -> np.ndarray:
        size = self.residual_size
        if elements is None or len(elements) + 1 != size:
            return np.full(size, 1e6)
        scaled = np.nan_to_num(elements * self.dof_scale, nan=1e6, posinf=1e6, neginf=-1e6)
        penalty = max(fom - float(np.abs(scaled).sum()), 0.0)
        if squared:
            return np.append(np.sign(scaled) * np.sqrt(np.abs(scaled)), np.sqrt(penalty))
        return np.append(scaled, penalty)

    @property
    def residual_size(self) -> int:
        return sum(len(d.y) for d, u in zip(self.gm.data, self.used, strict=True) if u) + 1


def polish(
    model: GenxModel,
    *,
    max_evaluations: int | None = None,
    stop: threading.Event | None = None,
) -> PolishOutcome:
    """Polish the fit parameters of ``model`` from their grid values; leave the best in the grid.

    Raises :class:`metagenx.errors.ModelScriptError` if the model's script does not compile.
    """
    from scipy.optimize import least_squares, minimize

    started = time.perf_counter()
    if not model.model.compiled:
        model.compile()
    budget = default_evaluations(len(model.fit_parameters)) if max_evaluations is None else max_evaluations
    objective = Objective(model, max(budget, 1), stop)
    fom_before = objective.evaluate(objective.start, first=True)[0]
    squared = model.fom_name in SQUARED_FOMS
    method = "least_squares(trf)" if squared else "least_squares(soft_l1)+powell"
    span = np.where(objective.high > objective.low, objective.high - objective.low, 1.0)
    bounds = (objective.low, objective.high)
    box = np.clip(objective.start, *bounds)
    frozen = objective.high <= objective.low
    if np.isfinite(fom_before) and not frozen.all():
        try:
            if squared:
                least_squares(objective.signed_sqrt_residuals, box, bounds=tight(bounds), x_scale=span, **LSQ)
            else:
                _, elements = objective.evaluate(box, first=True)
                scale = float(np.median(np.abs(elements))) if elements is not None and len(elements) else 1.0
                least_squares(
                    objective.element_residuals,
                    box,
                    bounds=tight(bounds),
                    x_scale=span,
                    loss="soft_l1",
                    f_scale=max(0.05 * scale * objective.dof_scale, 1e-12),
                    **LSQ,
                )
                minimize(
                    objective.fom,
                    objective.best_x,
                    method="Powell",
                    bounds=list(zip(*bounds, strict=True)),
                    options={"xtol": 1e-6, "ftol": 1e-9, "maxfev": budget},
                )
        except Budget:
            pass
        except (ValueError, np.linalg.LinAlgError):  # a degenerate problem: keep the best point seen
            pass
    best = objective.best_x if objective.best_fom < fom_before else objective.start
    model.set_fit_values(best)
    fom_after = model.simulate()
    return PolishOutcome(
        fom_before=float(fom_before),
        fom_after=float(min(fom_after, fom_before) if np.isfinite(fom_after) else fom_before),
        evaluations=objective.evaluations + 1,
        wall_time=time.perf_counter() - started,
        method=method,
        values=[float(v) for v in best],
    )


LSQ: dict[str, Any] = {"method": "trf", "xtol": 1e-10, "ftol": 1e-10, "gtol": 1e-10, "max_nfev": 10**6}
"""least_squares options; the evaluation budget is enforced by the objective itself."""


def tight(bounds: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Bounds least_squares accepts: each lower strictly below its upper (a fixed parameter gets a sliver)."""
    low, high = bounds
    sliver = np.maximum(np.abs(low), 1.0) * 1e-12
    return low, np.where(high > low, high, low + sliver)


def polish_result(
    model: GenxModel,
    result: FitResult,
    *,
    max_evaluations: int | None = None,
    stop: threading.Event | None = None,
) -> FitResult:
    """Polish the fitted ``model`` (as ``run_fit`` left it) and return ``result`` updated to match.

    The FOM, parameter values, curves, evaluation count and wall time include the polish;
    ``extra["polish"]`` records what it did. Error bars computed by the fit are recomputed.
    """
    from metagenx.engine.fit import dataset_curves, error_bars

    outcome = polish(model, max_evaluations=max_evaluations, stop=stop)
    errors = error_bars(model) if result.settings.error_bars and outcome.improved else None
    parameters = [
        dataclasses.replace(
            p,
            value=value,
            error_low=p.error_low if errors is None else float(errors[i][0]),
            error_high=p.error_high if errors is None else float(errors[i][1]),
        )
        for i, (p, value) in enumerate(zip(result.parameters, outcome.values, strict=True))
    ]
    return dataclasses.replace(
        result,
        fom=outcome.fom_after,
        parameters=parameters,
        evaluations=result.evaluations + outcome.evaluations,
        wall_time=result.wall_time + outcome.wall_time,
        datasets=dataset_curves(model),
        extra={**result.extra, "polish": dataclasses.asdict(outcome)},
    )


def fit_and_polish(
    model: GenxModel,
    settings: FitSettings,
    *,
    progress: ProgressCallback | None = None,
    stop_event: threading.Event | None = None,
) -> FitResult:
    """:func:`~metagenx.engine.fit.run_fit`, then :func:`polish_result` when ``settings.polish``
    asks for it and the fit was not stopped on request (recorded in ``result.extra["polish"]``)."""
    result = run_fit(model, settings, progress=progress, stop_event=stop_event)
    if settings.polish and not (stop_event is not None and stop_event.is_set()):
        result = polish_result(model, result, stop=stop_event)
    return result
