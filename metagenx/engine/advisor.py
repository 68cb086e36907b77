"""The beamtime advisor: how well the data determine each parameter, and what counting longer gives.

From the Jacobian ``J`` of the error-weighted residuals at the optimum
(:func:`metagenx.engine.covariance.weighted_jacobian`), the Fisher information is ``F = JᵀJ``
with the data's errors taken as true (not scaled by the reduced χ², unlike the covariance of
:mod:`metagenx.engine.covariance`): the predicted standard deviations now are
``σ_i = √(F⁻¹)_ii`` (Durant, Wilkins, Butler and Cooper, J. Appl. Cryst. 54, 1100–1110 (2021)).

Assumption: the errors are counting errors (Poisson, ``error ∝ √counts``). Counting ``k`` times
longer then multiplies every point's information by ``k`` and every σ by ``1/√k``. Whether the
errors are counting-like cannot be known in general (background subtraction, normalisation and
error floors all change them); the advisor checks the one thing it can: counting errors grow,
relative to the intensity, where the intensity falls (relative error ∝ intensity^−½). Data whose
relative errors do not (e.g. a constant 5 %) are flagged, and the √time prediction does not hold
for them.

Per parameter it also finds the stretch of x (Q in Å⁻¹ or 2θ in °, as the model's instrument
says) that carries most of the information on it: the share of point ``k`` is
``(F⁻¹ j_k)_i² / (F⁻¹)_ii`` — how much counting that point longer would shrink ``σ_i²``, to first
order, correlations included (the shares add up to 1). Pairs with |correlation| above
:data:`SEPARABLE` are reported as not separable with this Q range.

Pure computation: the record it makes (:class:`Advice`) is plain data; reading it back from a
runner (untrusted) and judging targets is :mod:`metagenx.engine.advice`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from metagenx.engine.covariance import STEP, Jacobian, scaled_inverse

SEPARABLE = 0.95
"""|correlation| above which two parameters are reported as not separable by the data."""
INFORMATION_SHARE = 0.5
"""The information range of a parameter: the fewest neighbouring points holding this share of it."""
COUNTING_SLOPE = (-0.8, -0.25)
"""Slope of log(relative error) against log(intensity) taken as counting errors (Poisson: −½)."""
MIN_DECADES = 0.5
"""Intensity span (decades) below which the kind of the errors cannot be told."""
NULL_COMPONENT = 0.1
"""A parameter with a component above this in a direction the data do not see is not determined."""
FACTORS = (2, 4)
"""Counting-time factors the advice predicts σ for."""
KIND = "fisher"
LABEL = "predicted σ from the Fisher information at the optimum (errors taken as counting errors)"


@dataclass(frozen=True)
class InformationRange:
    """Where the information on one parameter lies: data set ``dataset`` (index in the model),
    x from ``low`` to ``high`` (the data's x unit), holding ``share`` of the information in
    ``points`` of the data's points (``point_share`` of them)."""

    dataset: int
    low: float
    high: float
    share: float
    points: int
    point_share: float


@dataclass(frozen=True)
class ParameterAdvice:
    """One parameter: its fitted value and predicted σ now (None: the data do not determine it),
    σ after counting each of :data:`FACTORS` times longer, and its information range."""

    name: str
    value: float
    sigma: float | None
    longer: dict[str, float | None]
    information: InformationRange | None = None


@dataclass(frozen=True)
class Pair:
    """Two parameters the data cannot separate: ``correlation`` of their predicted covariance."""

    first: str
    second: str
    correlation: float


@dataclass(frozen=True)
class PosteriorCheck:
    """The advisor's predicted σ beside the posterior's standard deviation (same fit), and
    ``ratio`` = predicted / posterior (None when either is missing)."""

    name: str
    predicted: float | None
    posterior: float | None
    ratio: float | None


@dataclass(frozen=True)
class Advice:
    """What the advisor found for one fit.

    ``counting``: ``yes`` (relative errors grow as intensity falls, as counting errors do),
    ``no`` (they do not: the 1/√time prediction does not hold) or ``unknown`` (too small an
    intensity span to tell); ``error_slope`` the fitted slope of log relative error against log
    intensity (−½ for counting errors); ``reduced_chi2`` Σr²/(N − p) at the optimum (far above
    1: the model or the errors do not describe the scatter, and the σ are optimistic);
    ``x_axis`` ``q``, ``2theta`` or ``""``; ``notes`` plain-words caveats.
    """

    parameters: list[ParameterAdvice]
    pairs: list[Pair]
    counting: str
    error_slope: float | None
    reduced_chi2: float
    points: int
    x_axis: str = ""
    threshold: float = SEPARABLE
    notes: list[str] = field(default_factory=list)
    posterior: list[PosteriorCheck] = field(default_factory=list)
    kind: str = KIND
    label: str = LABEL

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def parameter(self, name: str) -> ParameterAdvice | None:
        return next((p for p in self.parameters if p.name == name), None)


def advise(jacobian: Jacobian, x_axis: str = "", threshold: float = SEPARABLE) -> Advice:
    """The advice for the fit whose Jacobian at the optimum is ``jacobian``."""
    count = len(jacobian.names)
    inverse, rank = scaled_inverse(jacobian)
    null = null_space(jacobian)
    information = np.sum(jacobian.matrix**2, axis=0)
    variance = np.diag(inverse)
    loose = np.any(np.abs(null) > NULL_COMPONENT, axis=1)  # moves along a direction the data do not see
    determined = (information > 0) & (variance > 0) & np.isfinite(variance) & ~loose
    sigma = np.where(determined, np.sqrt(np.where(determined, variance, 1.0)), np.nan)
    notes: list[str] = []
    if rank < count:
        notes.append(f"the data determine only {rank} of the {count} parameters' combinations")
    slope, counting = error_kind(jacobian.y, jacobian.error)
    if counting == "no":
        notes.append(
            "the relative errors do not grow where the intensity falls (slope "
            f"{slope:.2f} against log intensity; counting errors give −0.5): these are not counting "
            "errors, and counting longer may not shrink the uncertainties as 1/√time"
        )
    elif counting == "unknown":
        notes.append("the intensity spans too little to tell whether the errors are counting errors")
    dof = max(jacobian.points - count, 1)
    reduced = float(np.sum(jacobian.residuals**2) / dof)
    if reduced > 2:
        notes.append(
            f"reduced χ² {reduced:.3g}: the model or the errors do not describe the scatter; "
            "the predicted uncertainties are optimistic"
        )
    ranges = information_ranges(jacobian, inverse, determined)
    parameters = [
        ParameterAdvice(
            name=name,
            value=float(jacobian.values[i]),
            sigma=finite(sigma[i]),
            longer={str(k): finite(sigma[i] / math.sqrt(k)) for k in FACTORS},
            information=ranges[i],
        )
        for i, name in enumerate(jacobian.names)
    ]
    return Advice(
        parameters=parameters,
        pairs=degenerate(jacobian.names, null) + inseparable(jacobian.names, inverse, determined, threshold),
        counting=counting,
        error_slope=finite(slope),
        reduced_chi2=reduced,
        points=jacobian.points,
        x_axis=x_axis,
        threshold=threshold,
        notes=notes,
    )


def finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def error_kind(y: np.ndarray, error: np.ndarray) -> tuple[float, str]:
    """Slope of log(error/|y|) against log|y| over the points with y > 0, and what it says:
    ``yes`` (counting-like, within :data:`COUNTING_SLOPE`), ``no`` or ``unknown``."""
    positive = (y > 0) & (error > 0)
    if np.count_nonzero(positive) < 5:
        return math.nan, "unknown"
    log_y = np.log10(y[positive])
    if np.ptp(log_y) < MIN_DECADES:
        return math.nan, "unknown"
    slope = float(np.polyfit(log_y, np.log10(error[positive] / y[positive]), 1)[0])
    low, high = COUNTING_SLOPE
    return slope, "yes" if low <= slope <= high else "no"


def null_space(jacobian: Jacobian) -> np.ndarray:
    """``[parameter, k]``: the directions (in each parameter's step-range units, unit length) along
    which the data carry no information at all: exactly degenerate combinations (e.g. two layers
    of one material whose thicknesses only count as a sum). Empty columns when there are none."""
    scaled = jacobian.matrix * (jacobian.steps / STEP)
    values, vectors = np.linalg.eigh(scaled.T @ scaled)
    tolerance = max(float(values.max(initial=0.0)), 0.0) * len(values) * np.finfo(float).eps
    return vectors[:, values <= tolerance]


def degenerate(names: list[str], null: np.ndarray) -> list[Pair]:
    """Pairs moving together along a direction the data do not see: correlation −1 when the data
    fix their sum-like combination (opposite components), +1 when they fix their difference."""
    pairs: dict[tuple[str, str], Pair] = {}
    for vector in null.T:
        involved = [i for i in range(len(names)) if abs(vector[i]) > NULL_COMPONENT]
        for a, i in enumerate(involved):
            for j in involved[a + 1 :]:
                key = (names[i], names[j])
                pairs.setdefault(key, Pair(*key, 1.0 if vector[i] * vector[j] > 0 else -1.0))
    return list(pairs.values())


def inseparable(
    names: list[str], inverse: np.ndarray, determined: np.ndarray, threshold: float
) -> list[Pair]:
    """Pairs of determined parameters whose |correlation| exceeds ``threshold``, strongest first."""
    sigma = np.sqrt(np.abs(np.diag(inverse)))
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if not (determined[i] and determined[j]):
                continue
            correlation = float(inverse[i, j] / (sigma[i] * sigma[j]))
            if abs(correlation) > threshold:
                pairs.append(Pair(names[i], names[j], max(-1.0, min(1.0, correlation))))
    return sorted(pairs, key=lambda p: -abs(p.correlation))


def information_ranges(
    jacobian: Jacobian, inverse: np.ndarray, determined: np.ndarray
) -> list[InformationRange | None]:
    """Per parameter, the fewest neighbouring points (in x, within one data set) holding
    :data:`INFORMATION_SHARE` of its information (None for a parameter not determined)."""
    influence = (jacobian.matrix @ inverse) ** 2  # [k, i]: how much point k shrinks σ_i², first order
    found: list[InformationRange | None] = []
    for i in range(len(jacobian.names)):
        total = float(np.sum(influence[:, i]))
        if not determined[i] or not total > 0:
            found.append(None)
            continue
        best: InformationRange | None = None
        for dataset in np.unique(jacobian.dataset):
            mask = jacobian.dataset == dataset
            order = np.argsort(jacobian.x[mask], kind="stable")
            x, share = jacobian.x[mask][order], influence[mask, i][order] / total
            window = shortest_window(share, INFORMATION_SHARE)
            if window is None:
                window = (0, len(share))  # this data set alone holds less than the share
            start, stop = window
            candidate = InformationRange(
                dataset=int(dataset),
                low=float(x[start]),
                high=float(x[stop - 1]),
                share=float(np.sum(share[start:stop])),
                points=stop - start,
                point_share=(stop - start) / jacobian.points,
            )
            if best is None or better(candidate, best):
                best = candidate
        found.append(best)
    return found


def better(candidate: InformationRange, best: InformationRange) -> bool:
    """A range reaching the share in fewer points; else the one holding more of the information."""
    reaches = candidate.share >= INFORMATION_SHARE, best.share >= INFORMATION_SHARE
    if reaches[0] != reaches[1]:
        return reaches[0]
    if reaches[0]:
        return candidate.points < best.points
    return candidate.share > best.share


def shortest_window(share: np.ndarray, target: float) -> tuple[int, int] | None:
    """``(start, stop)`` of the fewest neighbouring entries summing to at least ``target``; None if
    all of them together do not."""
    best: tuple[int, int] | None = None
    total, start = 0.0, 0
    for stop, value in enumerate(share, start=1):
        total += float(value)
        while start < stop and total - float(share[start]) >= target:
            total -= float(share[start])
            start += 1
        if total >= target and (best is None or stop - start < best[1] - best[0]):
            best = (start, stop)
    return best


def posterior_checks(advice: Advice, posterior: dict[str, float]) -> list[PosteriorCheck]:
    """Predicted σ beside the posterior's standard deviation per parameter (``posterior``: name → std)."""
    checks = []
    for p in advice.parameters:
        std = posterior.get(p.name)
        ratio = p.sigma / std if p.sigma is not None and std is not None and std > 0 else None
        checks.append(PosteriorCheck(p.name, p.sigma, std, ratio))
    return checks
