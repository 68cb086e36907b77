"""A solve's stopping evidence on scripted outcomes: which starts count; does the rule keep its word."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from metagenx.solve.evidence import Outcome, evidence, same_minimum_groups, searches_needed, unseen_share

AGREE = 0.01


def complete(*foms: float) -> list[Outcome]:
    return [Outcome(f, complete=True) for f in foms]


def partial(*foms: float) -> list[Outcome]:
    return [Outcome(f, complete=False) for f in foms]


def test_unseen_share_is_boender_rinnooy_kan() -> None:
    assert unseen_share(7, 1) == pytest.approx(2 / 42)
    assert unseen_share(12, 2) == pytest.approx(6 / 132)
    assert unseen_share(1, 1) == 1.0 and unseen_share(0, 0) == 1.0
    assert unseen_share(3, 3) == 1.0, "three searches, three minima: anything may be out there"
    assert [searches_needed(w, 0.95) for w in (1, 2, 3)] == [7, 12, 16]
    assert searches_needed(1, 0.99) == 15


def test_foms_within_agree_are_one_minimum() -> None:
    groups = same_minimum_groups([0.0995, 0.0976, 0.09956, 0.0982, float("inf")], AGREE)
    assert [len(g) for g in groups] == [2, 2], "0.0976 and 0.0982 agree, 0.0995 is another minimum"


def test_a_landscape_with_one_minimum_is_trusted_after_seven_searches() -> None:
    assert evidence(complete(*[3.1257] * 6), AGREE).confidence < 0.95
    assert evidence(complete(*[3.1257] * 7), AGREE).confidence >= 0.95


def test_a_second_minimum_asks_for_more_searches() -> None:
    # X-ray_Reflectivity: most converged starts end 2 % above the best minimum
    outcomes = complete(0.09954, 0.09763, 0.09955, 0.09954, 0.09763, 0.09956, 0.09954)
    seen = evidence(outcomes, AGREE)
    assert (seen.searches, seen.minima) == (7, 2) and seen.confidence < 0.95
    more = evidence(outcomes + complete(0.09954, 0.09758, 0.09954, 0.09954, 0.09955), AGREE)
    assert (more.searches, more.minima) == (12, 2) and more.confidence >= 0.95


def test_partial_searches_count_only_where_a_minimum_is_known_or_at_the_best() -> None:
    base = complete(3.1257, 3.1257)
    junk = evidence(base + partial(28.86, 30.24, 12.4), AGREE)
    assert (junk.searches, junk.minima) == (2, 1), "scatter and stopped starts that ended high say nothing"
    matched = evidence(base + partial(3.1260, 3.1515), AGREE)
    assert (matched.searches, matched.minima) == (4, 1), "partial searches that reached the best count"
    better = evidence(base + partial(2.9), AGREE)
    assert (better.searches, better.minima) == (3, 2), "a partial search that found a better minimum counts"
    only_partial = evidence(partial(0.18, 0.0976, 0.21), AGREE)
    assert (only_partial.searches, only_partial.minima) == (1, 1)


def test_describe_says_what_the_confidence_means() -> None:
    text = evidence(complete(*[1.0] * 7), AGREE).describe()
    assert text.startswith("7 finished searches found one minimum") and "probability 0.048" in text


def agreeing_bound(outcomes: list[Outcome]) -> float:
    """The rule this one replaced: Boender & Rinnooy Kan's bound that assumes the global minimum
    has the largest basin (``k`` of ``n`` searches at the best: ``1 − (n+1)!(2n−k)!/((2n+1)!(n−k)!)``)."""
    n = len(outcomes)
    best = min(o.fom for o in outcomes)
    k = sum(1 for o in outcomes if abs(o.fom - best) <= AGREE * best)
    log_miss = (
        math.lgamma(n + 2) + math.lgamma(2 * n - k + 1) - math.lgamma(2 * n + 2) - math.lgamma(n - k + 1)
    )
    return 1.0 - math.exp(log_miss)


def missed_share(confidence: Callable[[list[Outcome]], float], trials: int = 1000) -> float:
    """Landscapes drawn from the rule's prior (1–30 minima, uniform shares, the global one drawn in
    proportion to its share): starts are drawn into basins until ``confidence`` reaches 0.95; the
    share of landscapes whose global minimum had not been seen by then."""
    rng = np.random.default_rng(20261207)
    missed = 0
    for _ in range(trials):
        shares = rng.dirichlet(np.ones(int(rng.integers(1, 31))))
        foms = 1.0 + np.arange(len(shares)) * 0.1  # distinct minima, 10 % apart
        global_fom = foms[int(rng.choice(len(shares), p=shares))]
        outcomes: list[Outcome] = []
        while not outcomes or confidence(outcomes) < 0.95:
            outcomes.append(Outcome(float(foms[int(rng.choice(len(shares), p=shares))]), complete=True))
        missed += all(o.fom != global_fom for o in outcomes)
    return missed / trials


TOLERATED = 0.05 + 3 * math.sqrt(0.05 * 0.95 / 1000)
"""Misses allowed at 0.95 over 1000 landscapes: 5 % plus three standard errors."""


def test_the_rule_keeps_its_reliability_where_its_assumptions_hold() -> None:
    rate = missed_share(lambda outcomes: evidence(outcomes, AGREE).confidence)
    assert rate <= TOLERATED, f"missed the global minimum in {rate:.1%} of the landscapes"


def test_the_check_fails_the_rule_that_trusted_agreeing_starts() -> None:
    """The same check, protection off: stopping once a few searches agree misses far more often."""
    rate = missed_share(agreeing_bound)
    assert rate > TOLERATED, f"the agreeing-starts rule missed only {rate:.1%}"
