"""Racing of independent fit starts: which starts to stop early, and when the answer is sure enough.

Pure computation, no processes and no clocks: :class:`Race` is fed observations
``(start, elapsed s, evaluations, best FOM)`` and final results, and answers which
running starts to stop and how confident the best answer is. The same observations
always give the same decisions.

The rule (:class:`RacingRule`), applied to every running start that has had at least
``grace`` evaluations:

1. **Behind at equal effort.** Its best FOM after ``e`` evaluations is worse, by more than
   ``margin`` (relative), than the best FOM another start had after the same ``e``
   evaluations of its own. Starts are compared at equal cost, so a start launched later
   is judged against what the others had done at its age, never against their present.
2. **Stalled behind the best.** Its best FOM lies more than ``agree`` (relative) above the
   best FOM of any start, and it improved by less than ``agree`` (relative) over its last
   ``patience`` evaluations: it sits in a worse minimum while a better one is known.

When the answer is sure enough is :mod:`metagenx.solve.evidence`'s question: :meth:`Race.evidence`
hands it the ended starts, each marked as a complete search (a start that converged on its own)
or not (a scatter start, a start the race stopped, a start cut short).
:func:`starts_needed` is an optional floor on top: enough ended starts that a basin reached by a
fraction ``share`` of the starts is missed with probability at most ``1 − reliability``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from metagenx.solve.evidence import Evidence, Outcome, evidence

AGREE = 0.01
"""Two FOMs are the same answer when they differ by at most this fraction of the best."""


@dataclass(frozen=True)
class RacingRule:
    """When to stop a start early. Evaluations count FOM evaluations of that start alone.

    Attributes:
        margin: relative FOM gap at equal effort beyond which a start is stopped (0.5: 50 % worse);
            smaller is more aggressive.
        grace: evaluations every start gets before it is judged.
        patience: evaluations without an improvement beyond ``agree`` after which a start lying
            above the best answer is stopped.
        agree: relative FOM gap within which two results are the same answer.
    """

    margin: float = 0.5
    grace: int = 1000
    patience: int = 1500
    agree: float = AGREE

    def __post_init__(self) -> None:
        if not self.margin > 0 or not self.agree > 0:
            raise ValueError("racing margin and agreement tolerance must be positive")
        if self.grace < 0 or self.patience < 1:
            raise ValueError("racing grace must be ≥ 0 and patience ≥ 1 evaluations")


@dataclass
class Start:
    """What the race knows of one start: its trajectory (evaluations, best FOM) and whether it ended."""

    start_id: int
    evaluations: list[int] = field(default_factory=list)
    foms: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    ended: bool = False
    complete: bool = False
    """Ended as a complete search: it converged on its own (not a scatter start, not stopped)."""
    stopped: str | None = None
    """Why the race stopped it (None: not stopped by the race)."""

    @property
    def best(self) -> float:
        return self.foms[-1] if self.foms else math.inf

    @property
    def effort(self) -> int:
        return self.evaluations[-1] if self.evaluations else 0

    def fom_at(self, evaluations: int) -> float | None:
        """Best FOM after ``evaluations`` evaluations of this start (None: not seen that early or late)."""
        if not self.evaluations or evaluations > self.effort:
            return None
        index = bisect.bisect_right(self.evaluations, evaluations) - 1
        return None if index < 0 else self.foms[index]

    def add(self, evaluations: int, fom: float, elapsed: float) -> None:
        """Record a point; the trajectory stays non-decreasing in evaluations, non-increasing in FOM."""
        fom = fom if math.isfinite(fom) else math.inf
        if self.evaluations and evaluations < self.effort:
            evaluations = self.effort
        if self.foms:
            fom = min(fom, self.best)
        if self.evaluations and evaluations == self.effort:
            self.foms[-1] = fom
        else:
            self.evaluations.append(evaluations)
            self.foms.append(fom)
        self.elapsed = max(self.elapsed, elapsed)


@dataclass(frozen=True)
class StopDecision:
    """Stop ``start_id``, for a reason a person can read."""

    start_id: int
    reason: str


def worse_by(fom: float, reference: float) -> float:
    """How much worse ``fom`` is than ``reference``, as a fraction of ``|reference|`` (inf if unknown)."""
    if not math.isfinite(reference):
        return 0.0 if not math.isfinite(fom) else -math.inf
    if not math.isfinite(fom):
        return math.inf
    return (fom - reference) / max(abs(reference), 1e-300)


class Race:
    """The racing state of one solve. Feed :meth:`observe` and :meth:`end`, ask :meth:`decide`."""

    def __init__(self, rule: RacingRule) -> None:
        self.rule = rule
        self.starts: dict[int, Start] = {}

    def observe(self, start_id: int, elapsed: float, evaluations: int, best_fom: float) -> None:
        """A progress report of a running start (elapsed in s since it started)."""
        self.starts.setdefault(start_id, Start(start_id)).add(evaluations, best_fom, elapsed)

    def end(self, start_id: int, fom: float, evaluations: int, elapsed: float, *, complete: bool) -> None:
        """A start ended with its final (polished) FOM (inf: no fit).

        ``complete``: its search ran its course (a full start that converged on its own); a start
        the race stopped is never complete, whatever its owner says.
        """
        start = self.starts.setdefault(start_id, Start(start_id))
        start.add(evaluations, fom, elapsed)
        start.ended = True
        start.complete = complete and start.stopped is None

    def forget(self, start_id: int) -> None:
        """Drop a start that failed (it counts neither as a trial nor as a reference)."""
        self.starts.pop(start_id, None)

    @property
    def best(self) -> float:
        """Best FOM seen from any start (inf before the first report)."""
        return min((s.best for s in self.starts.values()), default=math.inf)

    def decide(self) -> list[StopDecision]:
        """Running starts to stop now; each start is named at most once over the race."""
        decisions = []
        for start in self.starts.values():
            if start.ended or start.stopped is not None or start.effort < self.rule.grace:
                continue
            reason = self.behind(start) or self.stalled(start)
            if reason is not None:
                start.stopped = reason
                decisions.append(StopDecision(start.start_id, reason))
        return decisions

    def behind(self, start: Start) -> str | None:
        """Rule 1: worse than another start was at the same number of evaluations."""
        effort = start.effort
        for other in self.starts.values():
            if other is start:
                continue
            reference = other.fom_at(effort)
            if reference is None:
                continue
            gap = worse_by(start.best, reference)
            if gap > self.rule.margin:
                return (
                    f"behind start {other.start_id} at equal effort: FOM {start.best:.6g} vs "
                    f"{reference:.6g} after {effort} evaluations"
                )
        return None

    def stalled(self, start: Start) -> str | None:
        """Rule 2: above the best answer and no longer improving."""
        best = self.best
        if worse_by(start.best, best) <= self.rule.agree:
            return None
        earlier = start.fom_at(start.effort - self.rule.patience)
        if earlier is None or worse_by(earlier, start.best) > self.rule.agree:
            return None
        return (
            f"stalled {100 * worse_by(start.best, best):.2g} % above the best FOM {best:.6g} "
            f"(no progress beyond {100 * self.rule.agree:g} % in {self.rule.patience} evaluations)"
        )

    def ended(self) -> list[Start]:
        return [s for s in self.starts.values() if s.ended]

    def agreeing(self) -> int:
        """Ended starts whose final FOM is the best answer (within ``agree``)."""
        best = self.best
        return sum(1 for s in self.ended() if worse_by(s.best, best) <= self.rule.agree)

    def evidence(self) -> Evidence:
        """What the ended starts say about minima not yet seen (:mod:`metagenx.solve.evidence`)."""
        return evidence((Outcome(s.best, s.complete) for s in self.ended()), self.rule.agree)

    def confidence(self) -> float:
        """Probability that the best answer is the global minimum, from :meth:`evidence` (0 at first)."""
        return self.evidence().confidence


def starts_needed(reliability: float, share: float) -> int:
    """Starts after which a basin reached by ``share`` of them is found with ``reliability``."""
    if not 0 < share < 1 or not 0 < reliability < 1:
        raise ValueError("share and reliability must lie strictly between 0 and 1")
    return math.ceil(math.log(1 - reliability) / math.log(1 - share))
