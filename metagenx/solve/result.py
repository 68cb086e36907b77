"""What a solve hands back: the best fit, every start, and how sure the answer is."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from metagenx.engine.result import FitResult, finite_or_none

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class StartSummary:
    """One start of a solve. Times in s since the solve began; ``fom`` is its final (polished) FOM."""

    start_id: int
    seed: int
    launched: float
    ended: float
    fom: float
    evaluations: int
    outcome: str
    """``converged``, ``stopped: <racing reason>``, ``budget``, ``error: <message>``."""
    polished: bool = False
    values: dict[str, float] = field(default_factory=dict)
    trace: list[tuple[float, float]] = field(default_factory=list)
    """(s since the solve began, best FOM of this start so far) at each of its improvements."""


@dataclass(frozen=True)
class ParameterSpread:
    """A parameter across the starts that reached the best answer (within 1 % of its FOM)."""

    name: str
    best: float
    mean: float
    std: float
    min: float
    max: float


@dataclass(frozen=True)
class SolveResult:
    """Outcome of :func:`metagenx.solve.solve`.

    ``agreeing``: starts whose final FOM lies within ``agree`` (1 %) of the best;
    ``confidence``: probability that the best is the global minimum, from the minima the starts
    found and their number (see :mod:`metagenx.solve.evidence`); ``trace``: (s since start,
    best FOM so far) at each improvement; ``wall_time`` in s; ``stop_reason`` why the solve ended.
    """

    model_path: str
    best: FitResult
    starts: list[StartSummary]
    agreeing: int
    confidence: float
    spread: list[ParameterSpread]
    trace: list[tuple[float, float]]
    wall_time: float
    stop_reason: str
    settings: dict[str, Any]
    searches: int = 0
    """Finished starts the confidence counts (:mod:`metagenx.solve.evidence`)."""
    minima: int = 0
    """Distinct minima those starts found."""
    outputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def fom(self) -> float:
        return self.best.fom

    def to_frame(self) -> pandas.DataFrame:
        """The best fit's parameters (see :meth:`FitResult.to_frame`) with their spread over the
        agreeing starts: ``mean``, ``std``, ``spread_min``, ``spread_max``."""
        frame = self.best.to_frame()
        spread = {p.name: p for p in self.spread}
        frame["mean"] = [spread[n].mean if n in spread else math.nan for n in frame.index]
        frame["std"] = [spread[n].std if n in spread else math.nan for n in frame.index]
        frame["spread_min"] = [spread[n].min if n in spread else math.nan for n in frame.index]
        frame["spread_max"] = [spread[n].max if n in spread else math.nan for n in frame.index]
        return frame

    def starts_frame(self) -> pandas.DataFrame:
        """One row per start, indexed by start number: ``seed``, ``fom``, ``evaluations``,
        ``seconds`` (its run time, s), ``outcome``, ``polished``."""
        import pandas

        rows = [
            {
                "start": s.start_id,
                "seed": s.seed,
                "fom": s.fom,
                "evaluations": s.evaluations,
                "seconds": s.ended - s.launched,
                "outcome": s.outcome,
                "polished": s.polished,
            }
            for s in self.starts
        ]
        columns = ["start", "seed", "fom", "evaluations", "seconds", "outcome", "polished"]
        return pandas.DataFrame(rows, columns=columns).set_index("start")

    def time_to(self, target: float) -> float | None:
        """Seconds until the best FOM first reached ``target`` or below (None: never)."""
        return next((t for t, fom in self.trace if fom <= target), None)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (``solve.json``): everything but the best fit's curves."""
        best = self.best.to_dict()
        best.pop("datasets")
        data = dataclasses.asdict(self)
        data["best"] = best
        data["fom"] = self.fom
        return dict(finite_or_none(data))

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.summary(), indent=indent, allow_nan=False)

    def account(self) -> dict[str, Any]:
        """The solve's account without its best fit (kept in that fit's ``extra["solve"]``)."""
        account = self.summary()
        account.pop("best")
        return account


def parameter_spread(best: FitResult, starts: list[StartSummary], agree: float) -> list[ParameterSpread]:
    """Mean, std (population), min and max of each parameter over the starts agreeing with ``best``."""
    limit = best.fom + agree * abs(best.fom)
    agreeing = [s for s in starts if s.values and math.isfinite(s.fom) and s.fom <= limit]
    rows = []
    for p in best.parameters:
        values = np.array([s.values.get(p.name, math.nan) for s in agreeing] or [p.value], dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            values = np.array([p.value])
        rows.append(
            ParameterSpread(
                name=p.name,
                best=p.value,
                mean=float(values.mean()),
                std=float(values.std()),
                min=float(values.min()),
                max=float(values.max()),
            )
        )
    return rows


def solve_result_of(best: FitResult) -> SolveResult:
    """The :class:`SolveResult` a solve job recorded: its best fit, whose ``extra["solve"]`` holds
    the solve's account (:meth:`SolveResult.summary` without ``best``)."""
    extra = dict(best.extra)
    account = dict(extra.pop("solve"))

    def number(value: Any) -> float:
        return math.inf if value is None else float(value)

    return SolveResult(
        model_path=str(account["model_path"]),
        best=dataclasses.replace(best, extra=extra),
        starts=[
            StartSummary(
                **{
                    **s,
                    "fom": number(s["fom"]),
                    "trace": [(float(t), number(f)) for t, f in s.get("trace", [])],
                }
            )
            for s in account["starts"]
        ],
        agreeing=int(account["agreeing"]),
        confidence=number(account["confidence"]),
        spread=[
            ParameterSpread(str(p["name"]), *(number(p[k]) for k in ("best", "mean", "std", "min", "max")))
            for p in account["spread"]
        ],
        trace=[(float(t), number(f)) for t, f in account["trace"]],
        wall_time=float(account["wall_time"]),
        stop_reason=str(account["stop_reason"]),
        settings=dict(account["settings"]),
        outputs=dict(account["outputs"]),
        notes=list(account["notes"]),
        searches=int(account.get("searches", 0)),
        minima=int(account.get("minima", 0)),
    )
