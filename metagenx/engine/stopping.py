"""When a fit should stop: convergence rules and budgets, as pure computation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metagenx.engine.result import StopReason


@dataclass(frozen=True)
class StopRule:
    """Stopping rule of a fit.

    Attributes:
        tolerance: stop when the best FOM improved by no more than this fraction over
            the last ``window`` generations (0 disables).
        window: generations over which the improvement is measured.
        min_spread: stop when every parameter's population spread, as a fraction of
            its bound range, is below this (0 disables).
        max_evaluations: stop once this many FOM evaluations are done (None: no cap).
        max_time: stop once this many seconds have passed (None: no cap).
    """

    tolerance: float
    window: int
    min_spread: float
    max_evaluations: int | None = None
    max_time: float | None = None

    def check(
        self,
        fom_history: Sequence[float],
        evaluations: int,
        elapsed: float,
        spread: float,
    ) -> StopReason | None:
        """Say why to stop after the generation that produced ``fom_history[-1]``, or None.

        ``fom_history[0]`` is the best FOM of the initial population; ``spread`` is the
        largest relative parameter spread of the current population; ``elapsed`` is in s.
        """
        if self.max_time is not None and elapsed >= self.max_time:
            return StopReason.MAX_TIME
        if self.max_evaluations is not None and evaluations >= self.max_evaluations:
            return StopReason.MAX_EVALUATIONS
        if self.min_spread > 0 and spread < self.min_spread:
            return StopReason.CONVERGED_SPREAD
        if self.tolerance > 0 and fom_stalled(fom_history, self.window, self.tolerance):
            return StopReason.CONVERGED_FOM
        return None


def fom_stalled(fom_history: Sequence[float], window: int, tolerance: float) -> bool:
    """True when the best FOM improved by at most ``tolerance`` (relative) over ``window`` generations."""
    if len(fom_history) <= window:
        return False
    before = float(fom_history[-1 - window])
    now = float(fom_history[-1])
    if not np.isfinite(before):
        return False
    scale = max(abs(before), np.finfo(float).tiny)
    return (before - now) <= tolerance * scale


def population_spread(population: Sequence[np.ndarray], low: np.ndarray, high: np.ndarray) -> float:
    """Largest spread (max − min across the population) of any parameter, relative to its range."""
    pop = np.asarray(population, dtype=float)
    span = np.asarray(high, dtype=float) - np.asarray(low, dtype=float)
    span = np.where(span > 0, span, 1.0)
    return float(((pop.max(axis=0) - pop.min(axis=0)) / span).max())
