"""When a solve has seen enough: a Bayesian estimate of the minima its starts have not found yet.

Pure computation, no processes and no clocks. A solve is a multistart method: every start is
a search that ends in some minimum, and a minimum is reached by the share of starts that its
basin of attraction catches. After ``n`` searches have found ``w`` distinct minima, Boender
& Rinnooy Kan (Math. Programming 37, 59–80, 1987) give the posterior expected total share of
the basins *not yet seen*,

    E[Ω] = w (w + 1) / (n (n − 1)),

under a uniform prior on the number of minima and on their shares (assumption 1). The
probability that the global minimum lies in an unseen basin is taken to be that share, i.e.
the global minimum's basin is, as far as the starts can tell, one more basin drawn in
proportion to its size (assumption 2); the confidence that the best answer is the global
minimum is then ``1 − E[Ω]``. The rule adapts to what the starts show: one minimum seen by
every start is trusted after 7 searches at 0.95, two minima after 12, three after 16, while a
rugged landscape that keeps showing new minima keeps the solve going.

Which ended starts count as searches (:func:`evidence`):

* a **complete search** (a full DE start that converged) always counts, and its minimum is one
  of the minima seen;
* a **partial search** (a scatter start: a few DE generations and a local polish from a random
  point; a start the race stopped; a start cut short) counts only when it ended in a minimum
  that a complete search found, or at the best FOM of all. A partial search that stopped
  higher, where no complete search ended, is taken as not having reached a minimum at all:
  it adds neither a search nor a minimum (it says nothing about basins better than the best).

Two FOMs are the same minimum when they differ by at most ``agree`` (relative), grouped in
order of FOM (each FOM joins the group of the one below it when within ``agree`` of it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """How one start ended: its final FOM (inf: no fit) and whether its search ran its course."""

    fom: float
    complete: bool


@dataclass(frozen=True)
class Evidence:
    """What the ended starts say. ``searches``: starts counted; ``minima``: distinct minima among them."""

    searches: int
    minima: int
    unseen_share: float
    """Posterior expected share of starts that would land in a basin not yet seen (0–1)."""

    @property
    def confidence(self) -> float:
        """Probability that the best answer is the global minimum (0 before two searches)."""
        return 1.0 - self.unseen_share

    def describe(self) -> str:
        """One line for people: the searches, the minima, and what the confidence means."""
        minima = "one minimum" if self.minima == 1 else f"{self.minima} distinct minima"
        return (
            f"{self.searches} finished searches found {minima}; a further start would land in a "
            f"basin not yet seen with probability {self.unseen_share:.2g}"
        )


def unseen_share(searches: int, minima: int) -> float:
    """Boender–Rinnooy Kan's posterior expected share of the basins not yet seen (1 if unknown)."""
    n, w = searches, minima
    if n < 2 or w < 1:
        return 1.0
    return min(1.0, w * (w + 1) / (n * (n - 1)))


def same_minimum_groups(foms: Iterable[float], agree: float) -> list[list[float]]:
    """Group finite FOMs into minima: sorted, each joins the group below it when within ``agree``."""
    groups: list[list[float]] = []
    for fom in sorted(f for f in foms if math.isfinite(f)):
        if groups and fom - groups[-1][-1] <= agree * abs(groups[-1][-1]):
            groups[-1].append(fom)
        else:
            groups.append([fom])
    return groups


def within(fom: float, reference: float, agree: float) -> bool:
    return math.isfinite(fom) and abs(fom - reference) <= agree * abs(reference)


def evidence(outcomes: Iterable[Outcome], agree: float) -> Evidence:
    """The evidence of the ended starts ``outcomes`` (see the module's rules on what counts)."""
    ended = [o for o in outcomes if math.isfinite(o.fom)]
    anchors = [o.fom for o in ended if o.complete]
    best = min((o.fom for o in ended), default=math.inf)
    counted = list(anchors)
    for outcome in ended:
        if outcome.complete:
            continue
        if within(outcome.fom, best, agree) or any(within(outcome.fom, a, agree) for a in anchors):
            counted.append(outcome.fom)
    minima = len(same_minimum_groups(counted, agree))
    return Evidence(len(counted), minima, unseen_share(len(counted), minima))


def searches_needed(minima: int, reliability: float) -> int:
    """Searches after which ``minima`` distinct minima (and no more) give ``reliability``."""
    if not 0 < reliability < 1 or minima < 1:
        raise ValueError("reliability must lie strictly between 0 and 1 and minima be at least 1")
    n = 2
    while unseen_share(n, minima) > 1 - reliability:
        n += 1
    return n
