"""Settings of a solve: the fit settings of each start, the racing rule, the budget and the target."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from metagenx.engine.settings import FitSettings, check_keys
from metagenx.errors import SettingsError

START_DEFAULTS: dict[str, Any] = {"population": 20, "tolerance": 1e-2, "window": 10, "polish": True}
"""Fit settings of each start unless the user gives them: a small population and a loose
convergence rule (less than 1 % better over 10 generations) end DE early, and the local polish
finishes (near a minimum it is far cheaper than DE); racing and restarts supply the diversity."""

DEFAULT_BUDGET = 120.0
"""Wall-time cap of a solve unless the user gives one, s: solves return once sure, usually far sooner."""


@dataclass(frozen=True)
class SolveSettings:
    """How to solve a model.

    Attributes:
        fit: settings of every start (its ``seed`` is the solve's seed: each start's own seed is
            derived from it, see :func:`metagenx.solve.solver.start_seed`).
        budget: wall-time cap of the whole solve, s (the final polish may add a little); a solve
            normally returns well before it, once it is sure enough.
        target_reliability: return once the confidence that the best answer is the global
            minimum reaches this (:mod:`metagenx.solve.evidence`: at 0.95, 7 finished searches
            that all found the same minimum, 12 when they found two).
        slots: starts run at once (default: the executor's capacity).
        max_starts: starts launched at most.
        margin: racing: relative FOM gap at equal effort that stops a start (smaller: more aggressive).
        grace: racing: generations every start gets before it is judged.
        patience: racing: generations without a 1 % improvement after which a start above the best
            answer is stopped.
        agree: relative FOM gap within which two starts found the same answer.
        scatter: fraction of starts that are scatter starts: a few generations of DE from a
            random population, then the polish (a cheap local search from a random point, which
            reaches basins that full DE runs, drawn to the widest basin, rarely find).
        scatter_generations: DE generations of a scatter start before its polish.
        share: optional guard for models known to hide their best minimum in a small basin: the
            smallest fraction of starts whose basin the solve must not miss; it then ends on
            reliability only after ``log(1 − target_reliability) / log(1 − share)`` ended starts
            as well (59 for 0.95 and 0.05). None (the default): the evidence alone decides.
    """

    fit: FitSettings = field(default_factory=lambda: FitSettings(**START_DEFAULTS))
    budget: float = DEFAULT_BUDGET
    target_reliability: float = 0.95
    slots: int | None = None
    max_starts: int = 200
    margin: float = 0.5
    grace: int = 10
    patience: int = 15
    agree: float = 0.01
    scatter: float = 0.5
    scatter_generations: int = 3
    share: float | None = None

    def __post_init__(self) -> None:
        if not self.budget > 0:
            raise SettingsError(f"solve budget must be positive seconds, got {self.budget}")
        if not 0 < self.target_reliability < 1:
            raise SettingsError(f"target reliability must lie between 0 and 1, got {self.target_reliability}")
        if self.slots is not None and self.slots < 1:
            raise SettingsError(f"solve needs at least one slot, got {self.slots}")
        if self.max_starts < 1:
            raise SettingsError(f"max_starts must be at least 1, got {self.max_starts}")
        if not self.margin > 0 or not 0 < self.agree < 1:
            raise SettingsError("racing margin must be positive and agree between 0 and 1")
        if self.grace < 0 or self.patience < 1:
            raise SettingsError("racing grace must be ≥ 0 and patience ≥ 1 generations")
        if self.share is not None and not 0 < self.share < 1:
            raise SettingsError(f"share must lie between 0 and 1, got {self.share}")
        if not 0 <= self.scatter < 1 or self.scatter_generations < 1:
            raise SettingsError("scatter must lie in [0, 1) and scatter_generations be at least 1")

    def replace(self, **changes: Any) -> SolveSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["fit"] = self.fit.to_dict()
        return data

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SolveSettings:
        """Build from a mapping (``fit`` a FitSettings mapping), naming any unknown key."""
        data = dict(values)
        check_keys(cls, data, "solve")
        if "fit" in data and not isinstance(data["fit"], FitSettings):
            data["fit"] = start_settings(dict(data["fit"]))
        return cls(**data)


def start_settings(given: dict[str, Any] | None = None) -> FitSettings:
    """Fit settings of a start: :data:`START_DEFAULTS` overridden by ``given`` (a FitSettings mapping)."""
    return FitSettings.from_dict({**START_DEFAULTS, **(given or {})})


SOLVE_KEYS = (
    "budget",
    "target_reliability",
    "slots",
    "max_starts",
    "margin",
    "grace",
    "patience",
    "agree",
    "scatter",
    "scatter_generations",
    "share",
)
"""Keys of a settings file's ``[solve]`` table."""
