"""The advisor's record read back, targets judged, and the advice in a few words.

A fit's advice (:mod:`metagenx.engine.advisor`) is computed in the runner, where the model's
script runs: :func:`advice_from` reads it back from ``result.extra["advisor"]`` as untrusted data
(every field type-checked, numbers finite or None, texts and lists bounded) and gives None for
anything else. :func:`verdict` judges a user's target σ for one parameter: ``reached``, ``count
longer`` (about N× the counting time, since σ ∝ 1/√time for counting errors) or ``not reachable``
with this Q range (the data do not determine the parameter, it cannot be separated from another,
or it would take more than :data:`MAX_FACTOR` × the counting time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metagenx.engine.advisor import (
    SEPARABLE,
    Advice,
    InformationRange,
    Pair,
    ParameterAdvice,
    PosteriorCheck,
)

MAX_FACTOR = 100.0
"""A target that needs more than this many times the counting time is called not reachable."""
MAX_NAME = 200
MAX_TEXT = 1000
MAX_PARAMETERS = 2000
MAX_PAIRS = 10_000
MAX_NOTES = 20
AXIS_UNITS = {"q": ("Q", "Å⁻¹"), "2theta": ("2θ", "°")}

REACHED = "reached"
LONGER = "count longer"
UNREACHABLE = "not reachable"


class Invalid(ValueError):
    """An advisor record that is not what the runner is supposed to send."""


@dataclass(frozen=True)
class Verdict:
    """A target's verdict: ``status`` one of reached, count longer, not reachable; ``factor`` the
    counting-time factor needed (None unless counting longer helps); ``text`` in plain words."""

    name: str
    target: float
    sigma: float | None
    status: str
    factor: float | None
    text: str


def advice_from(extra: Mapping[str, Any] | None) -> Advice | None:
    """The advice in a result's ``extra`` (untrusted), or None when there is none or it is malformed."""
    found = (extra or {}).get("advisor")
    if not isinstance(found, dict) or "skipped" in found:
        return None
    try:
        return parse(found)
    except Invalid:
        return None


def check_record(found: object) -> None:
    """Raise :class:`Invalid` unless ``found`` is a well-formed advisor record or ``{"skipped": text}``."""
    if isinstance(found, dict) and set(found) == {"skipped"}:
        text(found["skipped"], MAX_TEXT)
        return
    if not isinstance(found, dict):
        raise Invalid("the advisor record is not a table")
    parse(found)


def parse(values: dict[str, Any]) -> Advice:
    """An :class:`Advice` from its plain form, checked field by field (:class:`Invalid` if not)."""
    record(values, tuple(Advice.__dataclass_fields__))
    for key in ("kind", "label"):
        text(values.get(key, ""), MAX_TEXT)
    parameters = listed(values.get("parameters"), MAX_PARAMETERS)
    pairs = listed(values.get("pairs"), MAX_PAIRS)
    notes = listed(values.get("notes", []), MAX_NOTES)
    checks = listed(values.get("posterior", []), MAX_PARAMETERS)
    counting = values.get("counting")
    if counting not in ("yes", "no", "unknown"):
        raise Invalid("the advisor's counting verdict is not yes, no or unknown")
    x_axis = values.get("x_axis", "")
    if x_axis not in ("q", "2theta", ""):
        raise Invalid("the advisor's x axis is unknown")
    points = values.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or points < 0:
        raise Invalid("the advisor's point count is not a whole number")
    advice = Advice(
        parameters=[parameter(p) for p in parameters],
        pairs=[pair(p) for p in pairs],
        counting=counting,
        error_slope=number(values.get("error_slope")),
        reduced_chi2=required(values.get("reduced_chi2")),
        points=points,
        x_axis=x_axis,
        threshold=required(values.get("threshold", SEPARABLE)),
        notes=[text(n, MAX_TEXT) for n in notes],
        posterior=[posterior_check(c) for c in checks],
    )
    if len({p.name for p in advice.parameters}) != len(advice.parameters):
        raise Invalid("the advisor names a parameter twice")
    return advice


def listed(value: object, limit: int) -> list[Any]:
    if not isinstance(value, list) or len(value) > limit:
        raise Invalid(f"the advisor sent something other than a list of at most {limit} items")
    return value


def text(value: object, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise Invalid(f"the advisor sent something other than a text of at most {limit} characters")
    return value


def number(value: object) -> float | None:
    """A finite float, or None for None; :class:`Invalid` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid("the advisor sent a number that is not finite")
    return float(value)


def required(value: object) -> float:
    found = number(value)
    if found is None:
        raise Invalid("the advisor left out a number it must send")
    return found


def positive(value: object) -> float | None:
    found = number(value)
    if found is not None and found < 0:
        raise Invalid("the advisor sent a negative standard deviation")
    return found


def record(value: object, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict) or not set(value) <= set(keys):
        raise Invalid("the advisor sent a record with unknown fields")
    return value


def parameter(value: object) -> ParameterAdvice:
    found = record(value, ("name", "value", "sigma", "longer", "information"))
    longer = found.get("longer", {})
    if not isinstance(longer, dict) or len(longer) > 10:
        raise Invalid("the advisor's longer-counting table is malformed")
    information = found.get("information")
    return ParameterAdvice(
        name=text(found.get("name"), MAX_NAME),
        value=required(found.get("value")),
        sigma=positive(found.get("sigma")),
        longer={text(k, 10): positive(v) for k, v in longer.items()},
        information=None if information is None else information_range(information),
    )


def information_range(value: object) -> InformationRange:
    found = record(value, ("dataset", "low", "high", "share", "points", "point_share"))
    dataset, points = found.get("dataset"), found.get("points")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (dataset, points)):
        raise Invalid("the advisor's information range has counts that are not whole numbers")
    return InformationRange(
        dataset=int(dataset),  # type: ignore[arg-type]
        low=required(found.get("low")),
        high=required(found.get("high")),
        share=required(found.get("share")),
        points=int(points),  # type: ignore[arg-type]
        point_share=required(found.get("point_share")),
    )


def pair(value: object) -> Pair:
    found = record(value, ("first", "second", "correlation"))
    correlation = required(found.get("correlation"))
    if abs(correlation) > 1:
        raise Invalid("the advisor sent a correlation beyond ±1")
    return Pair(text(found.get("first"), MAX_NAME), text(found.get("second"), MAX_NAME), correlation)


def posterior_check(value: object) -> PosteriorCheck:
    found = record(value, ("name", "predicted", "posterior", "ratio"))
    return PosteriorCheck(
        text(found.get("name"), MAX_NAME),
        positive(found.get("predicted")),
        positive(found.get("posterior")),
        positive(found.get("ratio")),
    )


# -- targets and words ---------------------------------------------------------------------------
def verdict(advice: Advice, name: str, target: float) -> Verdict:
    """The verdict on reaching σ ≤ ``target`` (the parameter's unit) for parameter ``name``."""
    found = advice.parameter(name)
    if found is None:
        return Verdict(
            name, target, None, UNREACHABLE, None, f"not reachable: {name} is not a fitted parameter"
        )
    sigma = found.sigma
    if sigma is not None and sigma <= target:
        return Verdict(name, target, sigma, REACHED, None, REACHED)
    partner = next((p for p in advice.pairs if name in (p.first, p.second)), None)
    if partner is not None:
        other = partner.second if partner.first == name else partner.first
        why = f"not separable from {other} (correlation {partner.correlation:.2f})"
        return Verdict(name, target, sigma, UNREACHABLE, None, f"not reachable with this Q range: {why}")
    if sigma is None:
        why = f"the data do not determine {name}"
        return Verdict(name, target, None, UNREACHABLE, None, f"not reachable with this Q range: {why}")
    factor = (sigma / target) ** 2
    if factor > MAX_FACTOR:
        why = f"it would take about {factor:.3g}× the counting time"
        return Verdict(name, target, sigma, UNREACHABLE, factor, f"not reachable with this Q range: {why}")
    caveat = "" if advice.counting == "yes" else " (if the errors are counting errors)"
    return Verdict(name, target, sigma, LONGER, factor, f"count about {rounded(factor)}× longer{caveat}")


def rounded(factor: float) -> str:
    """A counting factor as a reader wants it: 1.3, 2.4, 12."""
    return f"{math.ceil(factor * 10) / 10:.1f}" if factor < 10 else f"{math.ceil(factor):d}"


def verdicts(advice: Advice | None, targets: Mapping[str, float]) -> dict[str, Verdict]:
    """The verdict on each target (none without advice)."""
    if advice is None:
        return {}
    return {name: verdict(advice, name, value) for name, value in targets.items()}


def range_text(advice: Advice, found: InformationRange) -> str:
    """``Q 0.021–0.048 Å⁻¹`` (or ``x …`` when the axis is unknown)."""
    axis, unit = AXIS_UNITS.get(advice.x_axis, ("x", ""))
    return f"{axis} {found.low:.3g}–{found.high:.3g}{' ' + unit if unit else ''}"


def advice_line(advice: Advice | None, targets: Mapping[str, float] | None = None) -> str:
    """A short line of advice for one file: the targets' verdicts (or the least determined
    parameter), the pairs not separable, and where the errors are not counting errors."""
    if advice is None:
        return ""
    parts = []
    for name, found in verdicts(advice, targets or {}).items():
        sigma = "" if found.sigma is None else f" ±{found.sigma:.3g}"
        where = ""
        information = getattr(advice.parameter(name), "information", None)
        if found.status == LONGER and information is not None:
            where = f", its information mostly at {range_text(advice, information)}"
        parts.append(f"{name}{sigma} (target {found.target:g}): {found.text}{where}")
    if not targets:
        worst = least_determined(advice)
        if worst is not None and worst.sigma is not None:
            where = (
                f", most information at {range_text(advice, worst.information)}" if worst.information else ""
            )
            parts.append(f"least determined {worst.name} ±{worst.sigma:.3g}{where}; ×4 counting halves σ")
    for p in advice.pairs[:2]:
        parts.append(f"{p.first} and {p.second} not separable (correlation {p.correlation:.2f})")
    paired = {name for p in advice.pairs for name in (p.first, p.second)}
    unseen = [p.name for p in advice.parameters if p.sigma is None and p.name not in paired]
    if unseen:
        parts.append(
            f"not determined by these data: {', '.join(unseen[:3])}{' …' if len(unseen) > 3 else ''}"
        )
    if advice.counting == "no":
        parts.append("errors are not counting-like: the 1/√time prediction may not hold")
    return "; ".join(parts)


def least_determined(advice: Advice) -> ParameterAdvice | None:
    """The parameter with the largest σ relative to its value (undetermined ones first)."""

    def relative(p: ParameterAdvice) -> float:
        if p.sigma is None:
            return math.inf
        return p.sigma / abs(p.value) if p.value else p.sigma

    return max(advice.parameters, key=relative, default=None)
