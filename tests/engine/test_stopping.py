"""The stop rule as pure computation."""

from __future__ import annotations

import numpy as np
import pytest

from metagenx.engine.result import StopReason
from metagenx.engine.stopping import StopRule, fom_stalled, population_spread


def test_fom_stalled_needs_a_full_window() -> None:
    assert not fom_stalled([1.0] * 10, window=10, tolerance=1e-3)
    assert fom_stalled([1.0] * 11, window=10, tolerance=1e-3)


def test_fom_stalled_measures_relative_improvement_over_the_window() -> None:
    improving = [1.0 - 0.01 * i for i in range(21)]
    assert not fom_stalled(improving, window=10, tolerance=1e-3)
    slow = [1.0 - 1e-6 * i for i in range(21)]
    assert fom_stalled(slow, window=10, tolerance=1e-4)


def test_population_spread_is_relative_to_the_bounds() -> None:
    pop = [np.array([0.0, 10.0]), np.array([0.5, 10.5])]
    assert population_spread(pop, np.array([0.0, 0.0]), np.array([1.0, 100.0])) == pytest.approx(0.5)


def test_rule_order_budgets_first() -> None:
    rule = StopRule(tolerance=1e-3, window=2, min_spread=0.1, max_evaluations=100, max_time=5.0)
    stalled = [1.0, 1.0, 1.0]
    assert rule.check(stalled, evaluations=10, elapsed=6.0, spread=0.0) is StopReason.MAX_TIME
    assert rule.check(stalled, evaluations=100, elapsed=1.0, spread=0.0) is StopReason.MAX_EVALUATIONS
    assert rule.check(stalled, evaluations=10, elapsed=1.0, spread=0.01) is StopReason.CONVERGED_SPREAD
    assert rule.check(stalled, evaluations=10, elapsed=1.0, spread=0.5) is StopReason.CONVERGED_FOM
    assert rule.check([3.0, 2.0, 1.0], evaluations=10, elapsed=1.0, spread=0.5) is None


def test_zero_disables_convergence_rules() -> None:
    rule = StopRule(tolerance=0.0, window=1, min_spread=0.0)
    assert rule.check([1.0, 1.0, 1.0], evaluations=10**9, elapsed=1e9, spread=0.0) is None
