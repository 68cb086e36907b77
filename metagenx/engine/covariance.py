"""Parameter covariance from the Jacobian at the optimum: a cheap uncertainty for every fit.

Linearises the error-weighted residuals ``r = (data − simulation) / error`` of the data sets in
use around the fitted values: with ``J`` the Jacobian of ``r`` with respect to the fitted
parameters (central differences), the covariance is ``s² (JᵀJ)⁻¹``, scaled by the reduced
χ² ``s² = Σ r² / (N − p)`` (so that error bars that are too small or too large do not make the
uncertainties so). It is the curvature of a least-squares χ², whatever figure of merit the fit
minimised, and a linear approximation: near a bound, for strongly correlated or poorly
determined parameters, and on multimodal models it can be far from the posterior (the
uncertainty option samples that). Points without a positive, finite error are left out.

Costs ``2 p`` simulations for ``p`` parameters, with the model's script already compiled.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from metagenx.engine.model import GenxModel

KIND = "jacobian"
LABEL = "covariance from the Jacobian of the error-weighted residuals at the optimum (linear approximation)"
STEP = 1e-4
"""Central-difference step, as a fraction of each parameter's bound range (of its value when the
range is zero or infinite)."""


@dataclass(frozen=True)
class Covariance:
    """Covariance of the fitted parameters (in their own units), with how it was obtained.

    ``names`` in grid order; ``matrix[i][j]`` the covariance of parameters ``i`` and ``j``;
    ``reduced_chi2`` the scale applied; ``points`` the residuals used; ``note`` what limits it
    (e.g. parameters the data do not determine), empty when nothing does.
    """

    names: list[str]
    matrix: list[list[float]]
    reduced_chi2: float
    points: int
    kind: str = KIND
    label: str = LABEL
    note: str = ""

    @property
    def sigma(self) -> list[float]:
        """Standard deviation of each parameter (NaN where the variance is not positive)."""
        return [math.sqrt(v) if v > 0 else math.nan for v in np.diag(np.array(self.matrix, dtype=float))]

    @property
    def correlation(self) -> list[list[float]]:
        """Correlation matrix (−1 … 1; NaN rows for undetermined parameters)."""
        sigma = np.array(self.sigma)
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = np.array(self.matrix) / np.outer(sigma, sigma)
        return [[float(v) for v in row] for row in matrix]

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "sigma": self.sigma, "correlation": self.correlation}


def weighted_residuals(model: GenxModel) -> np.ndarray:
    """``(y − y_sim) / error`` of every used data set's points with a positive, finite error."""
    parts = []
    for data in model.model.data:
        if not data.use:
            continue
        y, simulated, error = (np.asarray(a, dtype=float) for a in (data.y, data.y_sim, data.error))
        usable = np.isfinite(y) & np.isfinite(simulated) & np.isfinite(error) & (error > 0)
        parts.append((y[usable] - simulated[usable]) / error[usable])
    return np.concatenate(parts) if parts else np.zeros(0)


def steps(values: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    span = highs - lows
    usable = np.isfinite(span) & (span > 0)
    fallback = np.where(values != 0, np.abs(values), 1.0)
    return STEP * np.where(usable, span, fallback)


def jacobian_covariance(model: GenxModel) -> Covariance | None:
    """The covariance at the model's current (fitted) values; None when no point has an error.

    The model is left holding its fitted values and their simulation.
    """
    rows = model.fit_parameters
    names = [p.name for p in rows]
    values = np.array([p.value for p in rows], dtype=float)
    lows, highs = (np.array([getattr(p, k) for p in rows], dtype=float) for k in ("min", "max"))
    model.simulate(recompile=False)
    base = weighted_residuals(model)
    points, count = base.size, len(names)
    if points == 0:
        return None
    jacobian = np.empty((points, count))
    sizes = steps(values, lows, highs)
    try:
        for index, step in enumerate(sizes):
            shifted = []
            for sign in (1.0, -1.0):
                trial = values.copy()
                trial[index] += sign * step
                model.set_fit_values(trial)
                model.simulate(recompile=False)
                shifted.append(weighted_residuals(model))
            if any(s.size != points for s in shifted):
                return None  # a point's error or simulation became unusable: no consistent Jacobian
            jacobian[:, index] = (shifted[0] - shifted[1]) / (2 * step)
    finally:
        model.set_fit_values(values)
        model.simulate(recompile=False)
    dof = max(points - count, 1)
    reduced = float(np.sum(base**2) / dof)
    scale = sizes / STEP  # each parameter in units of its range: a far better conditioned inverse
    scaled = jacobian * scale
    curvature = scaled.T @ scaled
    rank = int(np.linalg.matrix_rank(curvature, hermitian=True))
    note = ""
    if rank < count:
        note = f"the data determine only {rank} of the {count} parameters' combinations (pseudo-inverse)"
    if points <= count:
        note = (note + "; " if note else "") + f"as many parameters as points ({points}): no reduced χ²"
    inverse = np.linalg.pinv(curvature, hermitian=True)
    matrix = np.outer(scale, scale) * (inverse + inverse.T) / 2 * reduced  # symmetric to the last bit
    return Covariance(names, matrix.tolist(), reduced, points, note=note)
