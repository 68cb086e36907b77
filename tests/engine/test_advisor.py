"""The beamtime advisor: predicted σ for longer counting, pairs not separable, targets, error kinds.

The prediction test counts SuperAdam_SiO's reflectivity with Poisson noise at a time t and at
4t (independent seeds, 10 realisations), fits each by least squares (Gauss–Newton from the true
values: the data's own χ² minimum, cheap and deterministic), and compares the σ the advisor
predicts from the t data for 4t with the σ of the fit to the 4t data (the same Fisher
information, evaluated on the 4t data at their own optimum).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from metagenx.engine.advice import (
    LONGER,
    REACHED,
    UNREACHABLE,
    Invalid,
    advice_from,
    advice_line,
    check_record,
    verdict,
)
from metagenx.engine.advisor import Advice, advise, shortest_window
from metagenx.engine.covariance import Jacobian, weighted_jacobian
from metagenx.engine.model import GenxModel
from tests.engine.counting import TRUTH, counted, exact_model, set_points, split_film_model

REALISATIONS = 10
AGREE = 0.3


class Counter:
    """One loaded model whose data are replaced by each counted realisation and fitted."""

    def __init__(self, source: Path) -> None:
        self.model: GenxModel = exact_model(source, 4, TRUTH)
        data = self.model.model.data[0]
        self.x = np.asarray(data.x, dtype=float).copy()
        self.exact = np.asarray(data.y_sim, dtype=float).copy()

    def fit(self, y: np.ndarray, error: np.ndarray) -> Advice:
        """Least-squares fit of these data (Gauss–Newton from the truth) and its advice."""
        set_points(self.model.model.data[0], self.x, y, error)
        self.model.set_fit_values(np.array(list(TRUTH.values())))
        for _ in range(6):
            found = weighted_jacobian(self.model)
            assert found is not None
            step = np.linalg.lstsq(found.matrix, -found.residuals, rcond=None)[0]
            self.model.set_fit_values(found.values + step)
        final = weighted_jacobian(self.model)
        assert final is not None
        return advise(final, "2theta")

    def counted(self, time: float, seed: int) -> Advice:
        return self.fit(*counted(self.exact, time, seed))


@pytest.fixture(scope="module")
def counter(superadam: Path) -> Counter:
    return Counter(superadam)


@pytest.fixture(scope="module")
def realisations(counter: Counter) -> list[tuple[Advice, Advice]]:
    """(advice from the t data, advice from the 4t data) per realisation, independent noise."""
    return [(counter.counted(1.0, 2 * s), counter.counted(4.0, 2 * s + 1)) for s in range(REALISATIONS)]


def ratios(pairs: list[tuple[Advice, Advice]], predicted: str) -> np.ndarray:
    """[realisation, parameter]: σ predicted from the t data (``longer[predicted]``, or ``now``) over
    the σ of the fit to the 4t data."""
    rows = []
    for short, long in pairs:
        rows.append(
            [
                (p.sigma if predicted == "now" else p.longer[predicted]) / q.sigma  # type: ignore[operator]
                for p, q in zip(short.parameters, long.parameters, strict=True)
            ]
        )
    return np.array(rows)


def within(found: np.ndarray) -> bool:
    return bool(np.all(np.abs(found - 1) <= AGREE))


def test_sigma_predicted_for_4t_from_t_data_agrees_with_the_4t_fit(
    realisations: list[tuple[Advice, Advice]],
) -> None:
    found = ratios(realisations, "4")
    names = [p.name for p in realisations[0][0].parameters]
    print(
        "predicted/fitted σ at 4t per realisation:", dict(zip(names, found.T.round(3).tolist(), strict=True))
    )
    values = np.array([[p.value for p in long.parameters] for _, long in realisations])
    spread = values.std(axis=0, ddof=1)
    predicted = np.array(
        [[p.longer["4"] for p in short.parameters] for short, _ in realisations], dtype=float
    )
    predicted = predicted.mean(axis=0)
    print(
        "spread of the 4t fits / mean predicted σ:",
        dict(zip(names, (spread / predicted).round(3), strict=True)),
    )
    assert all(short.counting == "yes" and not short.pairs for short, _ in realisations)
    assert found.shape == (REALISATIONS, 3)
    assert within(found), found
    # and the spread of the 4t fits themselves (10 values: a standard deviation known to ~25 %)
    assert within(spread / predicted), spread / predicted


def test_without_the_square_root_of_time_the_prediction_fails(
    realisations: list[tuple[Advice, Advice]],
) -> None:
    """The check can fail: σ now (no 1/√4) taken as the prediction for 4t is twice too large."""
    assert not within(ratios(realisations, "now"))
    assert np.allclose(ratios(realisations, "now").mean(axis=0), 2.0, rtol=AGREE)


def test_a_reachable_target_is_reached_after_counting_long_enough(counter: Counter) -> None:
    short = counter.counted(1.0, 101)
    sigma = short.parameter("SiO.setD").sigma  # type: ignore[union-attr]
    target = 0.6 * sigma  # type: ignore[operator]
    now = verdict(short, "SiO.setD", target)
    assert now.status == LONGER and now.factor is not None and 2.5 < now.factor < 3.0
    assert now.text == f"count about {math.ceil(now.factor * 10) / 10:.1f}× longer"
    assert verdict(counter.counted(4.0, 102), "SiO.setD", target).status == REACHED
    # and the twin that fails: a target beyond 4× counting is not reached by the 4t data
    later = verdict(counter.counted(4.0, 102), "SiO.setD", 0.3 * sigma)  # type: ignore[operator]
    assert later.status == LONGER
    line = advice_line(short, {"SiO.setD": target})
    assert line.startswith(f"SiO.setD ±{sigma:.3g} (target {target:g}): count about ")
    assert ", its information mostly at 2θ " in line and line.endswith(" °")
    assert advice_line(short).startswith("least determined SiO.setSigma ±")  # no targets: the weakest


def test_errors_that_are_not_counting_errors_are_flagged(counter: Counter) -> None:
    """A constant relative error (5 %) does not grow where the intensity falls."""
    rng = np.random.default_rng(7)
    y = counter.exact * (1 + 0.05 * rng.normal(size=counter.exact.size))
    advice = counter.fit(y, 0.05 * np.abs(counter.exact))
    assert advice.counting == "no" and advice.error_slope is not None and abs(advice.error_slope) < 0.1
    assert any("not counting errors" in note for note in advice.notes)
    target = 0.5 * advice.parameter("SiO.setD").sigma  # type: ignore[operator,union-attr]
    assert verdict(advice, "SiO.setD", target).text.endswith("(if the errors are counting errors)")
    assert "not counting-like" in advice_line(advice)


def synthetic(columns: np.ndarray, names: list[str]) -> Jacobian:
    points = columns.shape[0]
    x = np.linspace(0.01, 0.2, points)
    y = np.exp(-x * 30)
    return Jacobian(
        names,
        np.ones(len(names)),
        columns,
        np.zeros(points),
        np.zeros(points, dtype=int),
        x,
        y,
        np.sqrt(y) * 0.01,
        np.full(len(names), 1e-4),
    )


@pytest.mark.parametrize("mixing", [0.0, 1.0])
def test_a_degenerate_pair_is_reported_not_separable(mixing: float) -> None:
    """b's column is 2 × a's (plus a little): only their combination is determined. The twin
    (mixing 0: independent columns) reports nothing, so the check can fail."""
    rng = np.random.default_rng(3)
    a, b, c = (rng.normal(size=200) for _ in range(3))
    columns = np.column_stack([a, mixing * 2 * a + 0.05 * b + (1 - mixing) * b, c])
    advice = advise(synthetic(columns, ["a", "b", "c"]))
    pairs = {(p.first, p.second) for p in advice.pairs}
    if mixing:
        assert pairs == {("a", "b")} and abs(advice.pairs[0].correlation) > 0.95
        found = verdict(advice, "a", 1e-6)
        assert found.status == UNREACHABLE and "not separable from b" in found.text
        assert "a and b not separable" in advice_line(advice)
    else:
        sigma = advice.parameter("a").sigma  # type: ignore[union-attr]
        assert not pairs and verdict(advice, "a", 0.8 * sigma).status == LONGER  # type: ignore[operator]


@pytest.mark.parametrize("fit_both", [True, False])
def test_a_film_split_in_two_layers_of_one_material_is_not_separable(superadam: Path, fit_both: bool) -> None:
    """Only the sum of the two thicknesses shows: the pair is reported with correlation −1, neither
    is determined on its own, and the roughness between them (no contrast) is not determined. The
    twin fits one thickness only: it is determined, and nothing is reported."""
    model = split_film_model(superadam, fit_both=fit_both)
    jacobian = weighted_jacobian(model)
    assert jacobian is not None
    advice = advise(jacobian, "2theta")
    thickness = advice.parameter("SiO.setD")
    assert thickness is not None
    if fit_both:
        assert [(p.first, p.second, p.correlation) for p in advice.pairs] == [("SiO.setD", "SiO2.setD", -1.0)]
        assert thickness.sigma is None and advice.parameter("SiO.setSigma").sigma is None  # type: ignore[union-attr]
        found = verdict(advice, "SiO.setD", 1.0)
        assert (
            found.status == UNREACHABLE and "not separable from SiO2.setD (correlation -1.00)" in found.text
        )
        line = advice_line(advice)
        assert (
            "SiO.setD and SiO2.setD not separable" in line
            and "not determined by these data: SiO.setSigma" in line
        )
        assert any("determine only 2 of the 4" in note for note in advice.notes)
    else:
        assert not advice.pairs and thickness.sigma is not None and thickness.sigma < 1.0
        assert verdict(advice, "SiO.setD", 1.0).status == REACHED


def test_a_parameter_the_data_do_not_see_is_not_reachable() -> None:
    columns = np.column_stack([np.linspace(1, 2, 50), np.zeros(50)])
    advice = advise(synthetic(columns, ["seen", "unseen"]))
    assert advice.parameter("unseen").sigma is None  # type: ignore[union-attr]
    assert "do not determine unseen" in verdict(advice, "unseen", 1.0).text
    assert verdict(advice, "nothing", 1.0).status == UNREACHABLE


def test_information_range_holds_half_of_the_information(realisations: list[tuple[Advice, Advice]]) -> None:
    short = realisations[0][0]
    for p in short.parameters:
        found = p.information
        assert found is not None and 0.5 <= found.share <= 1.0 + 1e-9
        assert 0.2 <= found.low <= found.high <= 8.2 and found.points <= short.points
    assert shortest_window(np.array([0.1, 0.1, 0.5, 0.1, 0.2]), 0.6) == (1, 3)
    assert shortest_window(np.array([0.1, 0.1]), 0.6) is None


def test_the_record_read_back_is_checked(realisations: list[tuple[Advice, Advice]]) -> None:
    record = realisations[0][0].to_dict()
    assert advice_from({"advisor": record}) == realisations[0][0]
    check_record(record)
    check_record({"skipped": "no data point has an error bar"})
    bad: list[object] = [
        {**record, "counting": "maybe"},
        {**record, "parameters": [{**record["parameters"][0], "sigma": -1.0}]},  # type: ignore[index]
        {**record, "parameters": [{**record["parameters"][0], "value": "1"}]},  # type: ignore[index]
        {**record, "pairs": [{"first": "a", "second": "b", "correlation": 2.0}]},
        {**record, "parameters": [{"name": "x" * 300, "value": 1.0, "sigma": None, "longer": {}}]},
        {**record, "parameters": [{"name": "a", "value": 1.0, "evil": 1}]},
        {**record, "payload": "x" * 100},
        {**record, "label": ["not", "text"]},
        ["not", "a", "table"],
    ]
    for value in bad:
        assert advice_from({"advisor": value}) is None
        with pytest.raises(Invalid):
            check_record(value)
