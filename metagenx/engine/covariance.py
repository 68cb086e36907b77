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


def usable_points(model: GenxModel) -> list[tuple[int, np.ndarray]]:
    """Per used data set: its index in the model and the mask of its points with a finite value,
    simulation and error and a positive error (the points every residual here is made of)."""
    found = []
    for index, data in enumerate(model.model.data):
        if not data.use:
            continue
        y, simulated, error = (np.asarray(a, dtype=float) for a in (data.y, data.y_sim, data.error))
        found.append((index, np.isfinite(y) & np.isfinite(simulated) & np.isfinite(error) & (error > 0)))
    return found


def weighted_residuals(model: GenxModel) -> np.ndarray:
    """``(y − y_sim) / error`` of every used data set's points with a positive, finite error."""
    parts = []
    for index, usable in usable_points(model):
        data = model.model.data[index]
        y, simulated, error = (np.asarray(a, dtype=float) for a in (data.y, data.y_sim, data.error))
        parts.append((y[usable] - simulated[usable]) / error[usable])
    return np.concatenate(parts) if parts else np.zeros(0)


def steps(values: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
    span = highs - lows
    usable = np.isfinite(span) & (span > 0)
    fallback = np.where(values != 0, np.abs(values), 1.0)
    return STEP * np.where(usable, span, fallback)


@dataclass(frozen=True)
class Jacobian:
    """The error-weighted residuals at the optimum and their derivatives, point by point.

    ``matrix[k, i]``: ∂r_k/∂p_i (per unit of parameter ``i``) of the residual ``r_k = (y_k −
    sim_k) / error_k``; ``residuals`` the ``r_k``; ``dataset``, ``x``, ``y``, ``error`` each
    point's data set index (in the model), x (as in the data), value and error; ``steps`` the
    central-difference step of each parameter (its own unit).
    """

    names: list[str]
    values: np.ndarray
    matrix: np.ndarray
    residuals: np.ndarray
    dataset: np.ndarray
    x: np.ndarray
    y: np.ndarray
    error: np.ndarray
    steps: np.ndarray

    @property
    def points(self) -> int:
        return int(self.residuals.size)


def weighted_jacobian(model: GenxModel) -> Jacobian | None:
    """The Jacobian of the error-weighted residuals at the model's current (fitted) values (``2 p``
    simulations); None when no point has an error, or when a shifted simulation changes which
    points are usable (no consistent Jacobian). The model is left holding its values and their
    simulation."""
    rows = model.fit_parameters
    names = [p.name for p in rows]
    values = np.array([p.value for p in rows], dtype=float)
    lows, highs = (np.array([getattr(p, k) for p in rows], dtype=float) for k in ("min", "max"))
    model.simulate(recompile=False)
    base = weighted_residuals(model)
    points = base.size
    if points == 0:
        return None
    where = usable_points(model)
    columns = {
        name: np.concatenate(
            [np.asarray(getattr(model.model.data[i], name), dtype=float)[m] for i, m in where]
        )
        for name in ("x", "y", "error")
    }
    dataset = np.concatenate([np.full(int(m.sum()), i) for i, m in where])
    jacobian = np.empty((points, len(names)))
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
                return None
            jacobian[:, index] = (shifted[0] - shifted[1]) / (2 * step)
    finally:
        model.set_fit_values(values)
        model.simulate(recompile=False)
    return Jacobian(
        names, values, jacobian, base, dataset, columns["x"], columns["y"], columns["error"], sizes
    )


def scaled_inverse(jacobian: Jacobian) -> tuple[np.ndarray, int]:
    """``(JᵀJ)⁻¹`` (pseudo-inverse) in the parameters' own units, and the rank of ``JᵀJ``.

    Inverted with each parameter in units of its step's range: a far better conditioned inverse.
    """
    scale = jacobian.steps / STEP
    scaled = jacobian.matrix * scale
    curvature = scaled.T @ scaled
    rank = int(np.linalg.matrix_rank(curvature, hermitian=True))
    inverse = np.linalg.pinv(curvature, hermitian=True)
    return np.outer(scale, scale) * (inverse + inverse.T) / 2, rank  # symmetric to the last bit


def jacobian_covariance(model: GenxModel) -> Covariance | None:
    """The covariance at the model's current (fitted) values; None when no point has an error.

    The model is left holding its fitted values and their simulation.
    """
    jacobian = weighted_jacobian(model)
    return None if jacobian is None else covariance_from(jacobian)


def covariance_from(jacobian: Jacobian) -> Covariance:
    """The covariance ``s² (JᵀJ)⁻¹`` of :func:`weighted_jacobian`'s answer."""
    points, count = jacobian.points, len(jacobian.names)
    dof = max(points - count, 1)
    reduced = float(np.sum(jacobian.residuals**2) / dof)
    inverse, rank = scaled_inverse(jacobian)
    note = ""
    if rank < count:
        note = f"the data determine only {rank} of the {count} parameters' combinations (pseudo-inverse)"
    if points <= count:
        note = (note + "; " if note else "") + f"as many parameters as points ({points}): no reduced χ²"
    return Covariance(jacobian.names, (inverse * reduced).tolist(), reduced, points, note=note)
