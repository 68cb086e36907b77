"""What a fit hands back: plain dataclasses that encode to JSON and pickle cleanly."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from metagenx.engine.flags import parameter_flags
from metagenx.engine.settings import ResolvedSettings

if TYPE_CHECKING:
    import pandas

RESULT_FORMAT = 1


class StopReason(StrEnum):
    """Why a fit stopped."""

    CONVERGED_FOM = "converged: best FOM stalled"
    CONVERGED_SPREAD = "converged: population spread below threshold"
    MAX_GENERATIONS = "generation budget reached"
    MAX_EVALUATIONS = "evaluation budget reached"
    MAX_TIME = "time budget reached"
    REQUESTED = "stopped on request"
    GENX_SPREAD = "GenX min_parameter_spread reached"
    ERROR = "error"


@dataclass(frozen=True)
class ParameterResult:
    """One fitted parameter. ``error_low``/``error_high`` are GenX's error bars, when computed."""

    name: str
    value: float
    start: float
    min: float
    max: float
    error_low: float | None = None
    error_high: float | None = None

    @property
    def relative_position(self) -> float:
        """Where the value sits between its bounds: 0 at min, 1 at max."""
        span = self.max - self.min
        return 0.5 if span == 0 else (self.value - self.min) / span

    @property
    def flags(self) -> list[str]:
        """What is doubtful about the value: at or outside a bound, unphysical (see
        :mod:`metagenx.engine.flags`)."""
        return parameter_flags(self.name, self.value, self.min, self.max)


X_AXES = ("q", "2theta", "")
"""What a data set's x is, as the model's instrument says: Q in Å⁻¹, 2θ in °, or unknown ("")."""


@dataclass(frozen=True)
class DatasetCurve:
    """Measured and simulated points of one data set (x in the data's own unit, e.g. Å⁻¹ or °).

    ``x_axis``: one of :data:`X_AXES`, from the model's instrument (its ``coords``)."""

    name: str
    use: bool
    x: list[float]
    y: list[float]
    error: list[float]
    simulated: list[float]
    x_axis: str = ""


@dataclass(frozen=True)
class FitResult:
    """Outcome of one fit.

    ``fom_history`` holds the best FOM after each generation (index 0: the initial
    population). ``wall_time`` is seconds from the first FOM evaluation to the stop.
    ``complete`` is False for a fit cut short on request (Ctrl-C, a cancel, a stopping
    controller): its values are the best found so far, not a finished fit's.
    """

    model_path: str
    fom_name: str
    fom_start: float
    fom: float
    parameters: list[ParameterResult]
    generations: int
    evaluations: int
    wall_time: float
    seed: int
    settings: ResolvedSettings
    stop_reason: StopReason
    fom_history: list[float]
    time_history: list[float]
    datasets: list[DatasetCurve]
    genx_version: str
    metagenx_version: str
    error_message: str | None = None
    format: int = RESULT_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)
    complete: bool = True

    @property
    def values(self) -> dict[str, float]:
        """Fitted value per parameter name."""
        return {p.name: p.value for p in self.parameters}

    @property
    def flags(self) -> dict[str, list[str]]:
        """The flags of every parameter that has any, by name (:mod:`metagenx.engine.flags`)."""
        return {p.name: p.flags for p in self.parameters if p.flags}

    def to_frame(self) -> pandas.DataFrame:
        """The fitted parameters as a pandas DataFrame indexed by name: ``value``, ``start``,
        ``min``, ``max``, ``error_low``, ``error_high`` (NaN where GenX computed no error bar),
        ``position`` (0 at min, 1 at max) and ``flags`` (what is doubtful about the value)."""
        import pandas

        rows = [
            {
                "parameter": p.name,
                "value": p.value,
                "start": p.start,
                "min": p.min,
                "max": p.max,
                "error_low": math.nan if p.error_low is None else p.error_low,
                "error_high": math.nan if p.error_high is None else p.error_high,
                "position": p.relative_position,
                "flags": ", ".join(p.flags),
            }
            for p in self.parameters
        ]
        columns = [
            "parameter",
            "value",
            "start",
            "min",
            "max",
            "error_low",
            "error_high",
            "position",
            "flags",
        ]
        return pandas.DataFrame(rows, columns=columns).set_index("parameter")

    def to_dict(self) -> dict[str, Any]:
        """Every field; each parameter also carries its ``flags`` (computed, ignored on reading)."""
        data = dataclasses.asdict(self)
        for row, parameter in zip(data["parameters"], self.parameters, strict=True):
            row["flags"] = parameter.flags
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        """Strict JSON: non-finite numbers (NaN, ±inf) are written as null."""
        return json.dumps(finite_or_none(self.to_dict()), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FitResult:
        data = dict(values)
        data["parameters"] = [
            ParameterResult(**{k: v for k, v in p.items() if k != "flags"}) for p in data["parameters"]
        ]
        data["datasets"] = [DatasetCurve(**d) for d in data["datasets"]]
        data["settings"] = ResolvedSettings.from_dict(data["settings"])
        data["stop_reason"] = StopReason(data["stop_reason"])
        data.setdefault("complete", data["stop_reason"] is not StopReason.REQUESTED)  # older results
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> FitResult:
        return cls.from_dict(json.loads(text))


def finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float, at any depth, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value
