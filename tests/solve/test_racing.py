"""The racing rule on scripted FOM trajectories: deterministic, no processes."""

from __future__ import annotations

import pytest

from metagenx.solve.evidence import unseen_share
from metagenx.solve.racing import Race, RacingRule, starts_needed
from metagenx.solve.starts import is_scatter

RULE = RacingRule(margin=0.5, grace=1000, patience=1500, agree=0.01)


def feed(race: Race, start: int, points: list[tuple[int, float]]) -> list[int]:
    """Feed ``(evaluations, best FOM)`` points of one start; return the starts stopped along the way."""
    stopped = []
    for evaluations, fom in points:
        race.observe(start, evaluations / 100.0, evaluations, fom)
        stopped += [d.start_id for d in race.decide()]
    return stopped


def test_the_start_behind_at_equal_effort_is_stopped_and_the_leader_is_not() -> None:
    race = Race(RULE)
    leader = [(e, 30.0 - 0.026 * e) for e in range(0, 1101, 100)]  # reaches 1.4 at 1100
    laggard = [(e, 30.0 - 0.002 * e) for e in range(0, 1101, 100)]  # still 27.8 at 1100
    stopped = []
    for a, b in zip(leader, laggard, strict=True):
        stopped += feed(race, 0, [a]) + feed(race, 1, [b])
    assert stopped == [1], "only the laggard, and only once"
    assert race.starts[1].stopped is not None and "behind start 0" in race.starts[1].stopped
    assert race.starts[0].stopped is None


def test_nobody_is_judged_before_the_grace_period() -> None:
    race = Race(RULE)
    feed(race, 0, [(0, 10.0), (900, 1.0)])
    assert feed(race, 1, [(0, 100.0), (900, 90.0)]) == []


def test_a_late_start_is_compared_with_what_the_others_had_at_its_age() -> None:
    race = Race(RULE)
    # start 0 ran long: 5.0 after 1000 evaluations, 1.0 after 5000
    feed(race, 0, [(0, 20.0), (1000, 5.0), (3000, 2.0), (5000, 1.0)])
    # start 1 begins later; after 1000 evaluations it is at 6.0: worse than 1.0, but not than 5.0 · 1.5
    assert feed(race, 1, [(0, 20.0), (1000, 6.0)]) == []
    # ... and it is stopped once it is clearly behind start 0 at the same age
    assert feed(race, 1, [(3000, 3.5)]) == [1]


def test_a_start_stalled_above_the_best_answer_is_stopped_but_one_within_agreement_is_not() -> None:
    race = Race(RacingRule(margin=10.0, grace=1000, patience=1500, agree=0.01))
    feed(race, 0, [(0, 1.0), (1000, 0.0980), (2000, 0.0976)])
    stuck = [(0, 1.0), (1000, 0.0996), (2000, 0.0995), (2500, 0.0995)]  # 1.9 % above, flat for 1500
    close = [(0, 1.0), (1000, 0.0978), (2000, 0.09775), (2600, 0.09775)]  # 0.15 % above: same answer
    assert feed(race, 1, stuck) == [1]
    assert feed(race, 2, close) == []
    assert "stalled" in (race.starts[1].stopped or "")


def test_the_same_observations_give_the_same_decisions() -> None:
    def replay() -> list[tuple[int, str]]:
        race = Race(RULE)
        out = []
        for step in range(0, 3001, 250):
            for start, slope in ((0, 0.02), (1, 0.001), (2, 0.015), (3, 0.0005)):
                race.observe(start, step / 50, step, max(40.0 - slope * step, 0.5))
                out += [(d.start_id, d.reason) for d in race.decide()]
        return out

    first = replay()
    assert first == replay()
    stopped = [start for start, _ in first]
    assert len(stopped) == len(set(stopped)), "each start is named once"
    assert set(stopped) == {1, 2, 3}, "everyone but the leader falls behind it"


def test_agreement_and_evidence_count_ended_starts_within_one_percent() -> None:
    race = Race(RULE)
    for start, fom in enumerate((3.1257, 3.1301, 27.7, 3.1262)):
        race.end(start, fom, 2000, 20.0, complete=True)
    race.forget(5)
    assert race.best == 3.1257
    assert race.agreeing() == 3
    evidence = race.evidence()
    assert (evidence.searches, evidence.minima) == (4, 2)
    assert race.confidence() == pytest.approx(1 - unseen_share(4, 2)) == pytest.approx(0.5)


def test_a_start_the_race_stopped_is_not_a_complete_search() -> None:
    race = Race(RULE)
    race.end(0, 1.0, 3000, 30.0, complete=True)
    feed(race, 1, [(1000, 9.0), (1500, 9.0), (3000, 9.0)])
    assert race.starts[1].stopped is not None
    race.end(1, 9.0, 3000, 30.0, complete=True)
    assert not race.starts[1].complete
    assert (race.evidence().searches, race.evidence().minima) == (1, 1), "its FOM is no minimum seen"


def test_a_failed_start_is_forgotten() -> None:
    race = Race(RULE)
    race.end(0, 1.0, 100, 1.0, complete=True)
    race.observe(1, 0.1, 10, 5.0)
    race.forget(1)
    assert race.evidence().searches == 1 and race.confidence() == 0.0, "one search proves nothing"
    assert race.decide() == []


def test_starts_needed_guards_against_small_basins() -> None:
    assert starts_needed(0.95, 0.05) == 59
    assert (1 - 0.05) ** starts_needed(0.95, 0.05) <= 0.05 < (1 - 0.05) ** (starts_needed(0.95, 0.05) - 1)
    with pytest.raises(ValueError):
        starts_needed(1.0, 0.05)


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, 0), (0.5, 5), (0.25, 2), (0.75, 7)])
def test_scatter_starts_are_spread_evenly(fraction: float, expected: int) -> None:
    chosen = [i for i in range(10) if is_scatter(i, fraction)]
    assert len(chosen) in (expected, expected + 1)
    assert not is_scatter(0, fraction) or fraction >= 1, "the first start is a full DE start"
