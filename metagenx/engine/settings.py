"""Fit settings: what the user asks for, and what a fit actually ran with.

:class:`FitSettings` holds the user's choices; ``None`` means "take it from the
model file". :class:`ResolvedSettings` is the complete, explicit set a fit ran
with, recorded in every result so that a fit can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metagenx.errors import SettingsError

STRATEGIES = (
    "best_1_bin",
    "rand_1_bin",
    "best_either_or",
    "rand_either_or",
    "jade_best",
    "simplex_best_1_bin",
)

DEFAULT_TOLERANCE = 1e-4
DEFAULT_WINDOW = 100
DEFAULT_MIN_SPREAD = 1e-3
DEFAULT_UNCERTAINTY_SAMPLES = 10_000
DEFAULT_UNCERTAINTY_BURN = 200
DEFAULT_UNCERTAINTY_TIME = 300.0


@dataclass(frozen=True)
class FitSettings:
    """Settings of one fit. ``None`` means: use the model file's value.

    Attributes:
        seed: seed of numpy's global RNG, set right before the fit; ``None`` draws one
            and records it in the result.
        km: DE mutation constant (0–1).
        kr: DE crossover constant (0–1).
        population: population size (individuals).
        strategy: DE trial-vector strategy, one of :data:`STRATEGIES`.
        max_generations: generation cap; ``None`` keeps GenX's budget from the file.
        max_evaluations: cap on FOM evaluations.
        max_time: wall-time budget in seconds.
        tolerance: convergence stop: relative improvement of the best FOM that must be
            exceeded within ``window`` generations; 0 disables it.
        window: convergence window in generations.
        min_spread: convergence stop: largest parameter spread across the population,
            as a fraction of each parameter's bound range; 0 disables it.
        genx_defaults: ignore the convergence rules and run exactly GenX's own
            settings and stopping rule from the file.
        error_bars: compute GenX's error bars after the fit.
        polish: after DE, polish the best result with a bounded local optimizer
            (:mod:`metagenx.runner.polish`; never worsens the FOM), unless the fit was stopped
            on request; recorded in ``result.extra["polish"]``.
        uncertainty: after a finished fit that writes its files, sample the posterior of the
            fitted parameters with bumps' DREAM (:mod:`metagenx.engine.posterior`); recorded in
            ``result.extra["posterior"]`` and written as the model's error column, a corner plot
            and a posterior band.
        uncertainty_samples: posterior draws to collect after burn-in.
        uncertainty_burn: DREAM burn-in, generations.
        uncertainty_time: wall-time cap of the sampling, s (it says so when the cap ends it).
    """

    seed: int | None = None
    km: float | None = None
    kr: float | None = None
    population: int | None = None
    strategy: str | None = None
    max_generations: int | None = None
    max_evaluations: int | None = None
    max_time: float | None = None
    tolerance: float = DEFAULT_TOLERANCE
    window: int = DEFAULT_WINDOW
    min_spread: float = DEFAULT_MIN_SPREAD
    genx_defaults: bool = False
    error_bars: bool = False
    polish: bool = False
    uncertainty: bool = False
    uncertainty_samples: int = DEFAULT_UNCERTAINTY_SAMPLES
    uncertainty_burn: int = DEFAULT_UNCERTAINTY_BURN
    uncertainty_time: float = DEFAULT_UNCERTAINTY_TIME

    def __post_init__(self) -> None:
        check_range("km", self.km, 0.0, 1.0)
        check_range("kr", self.kr, 0.0, 1.0)
        check_range("population", self.population, 5, 100_000)
        check_range("max_generations", self.max_generations, 1, None)
        check_range("max_evaluations", self.max_evaluations, 1, None)
        check_range("max_time", self.max_time, 0.0, None, open_low=True)
        check_range("tolerance", self.tolerance, 0.0, 1.0)
        check_range("window", self.window, 1, None)
        check_range("min_spread", self.min_spread, 0.0, 1.0)
        check_range("seed", self.seed, 0, 2**32 - 1)
        check_range("uncertainty_samples", self.uncertainty_samples, 100, 1_000_000)
        check_range("uncertainty_burn", self.uncertainty_burn, 0, 1_000_000)
        check_range("uncertainty_time", self.uncertainty_time, 0.0, None, open_low=True)
        for name in ("genx_defaults", "error_bars", "polish", "uncertainty"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"setting {name} must be true or false, got {getattr(self, name)!r}")
        if self.strategy is not None and self.strategy not in STRATEGIES:
            raise SettingsError(
                f"unknown DE strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}"
            )

    def replace(self, **changes: Any) -> FitSettings:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FitSettings:
        """Build from a mapping, naming any unknown key in the error."""
        check_keys(cls, values, "fit")
        return cls(**values)


def check_keys(settings: Any, values: Mapping[str, Any], what: str) -> None:
    """Raise :class:`SettingsError` naming every key of ``values`` that is no field of the
    settings dataclass ``settings`` (``what``: "fit", "solve"... for the message)."""
    known = {f.name for f in dataclasses.fields(settings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(
            f"unknown {what} setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


@dataclass(frozen=True)
class ResolvedSettings:
    """The complete settings a fit ran with (file values merged with the user's)."""

    seed: int
    km: float
    kr: float
    population: int
    strategy: str
    max_generations: int
    max_evaluations: int | None
    max_time: float | None
    tolerance: float
    window: int
    min_spread: float
    genx_defaults: bool
    error_bars: bool
    use_start_guess: bool = True
    use_boundaries: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ResolvedSettings:
        return cls(**values)


def check_range(
    name: str,
    value: float | None,
    low: float | None,
    high: float | None,
    *,
    open_low: bool = False,
) -> None:
    """Raise :class:`SettingsError` naming ``name`` when ``value`` is outside [low, high]."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"setting {name} must be a number, got {value!r}")
    too_low = low is not None and (value <= low if open_low else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        lower = "-inf" if low is None else low
        upper = "inf" if high is None else high
        bounds = f"{'(' if open_low else '['}{lower}, {upper}]"
        raise SettingsError(f"setting {name}={value} is outside the allowed range {bounds}")
