"""Posterior uncertainties (DREAM through GenX's bumps problem) on data simulated from known values.

The coverage check is statistical and can fail: over :data:`REALIZATIONS` noise realisations
(seeded), each parameter's 68 % interval must cover the value the data were simulated from in
50–85 % of them. Its twin shows that intervals a third as wide fail the same check.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import metagenx
from metagenx.engine.covariance import jacobian_covariance
from metagenx.engine.model import GenxModel
from metagenx.engine.posterior import (
    SamplingSettings,
    effective_sizes,
    sample_posterior,
)
from metagenx.engine.result import FitResult
from tests.engine.synthetic import TRUTH, simulated_model

REALIZATIONS = 20
SAMPLING: dict[str, Any] = {"uncertainty": True, "uncertainty_samples": 3000, "uncertainty_burn": 100}
FIT: dict[str, Any] = {"max_generations": 20, "polish": True, "progress": False}


@pytest.fixture(scope="module")
def fits(superadam: Path, tmp_path_factory: pytest.TempPathFactory) -> list[FitResult]:
    """One fit with its posterior per noise realisation."""
    folder = tmp_path_factory.mktemp("simulated")
    results = []
    for seed in range(REALIZATIONS):
        path = simulated_model(superadam, folder, seed)
        results.append(metagenx.fit(path, seed=seed + 1, **FIT, **SAMPLING))
    return results


def intervals(result: FitResult, shrink: float = 1.0) -> dict[str, tuple[float, float]]:
    """Each parameter's 68 % interval, optionally shrunk around its median by ``shrink``."""
    found = {}
    for summary in result.extra["posterior"]["parameters"]:
        low, high = summary["p68"]
        median = summary["median"]
        found[summary["name"]] = (median - (median - low) * shrink, median + (high - median) * shrink)
    return found


def coverage(results: list[FitResult], shrink: float = 1.0) -> dict[str, float]:
    """Share of ``results`` whose 68 % interval holds the true value, per parameter."""
    shares = {}
    for name, truth in TRUTH.items():
        covered = [low <= truth <= high for low, high in (intervals(r, shrink)[name] for r in results)]
        shares[name] = sum(covered) / len(covered)
    return shares


def check_coverage(shares: dict[str, float]) -> None:
    for name, share in shares.items():
        assert 0.5 <= share <= 0.85, (
            f"{name}: 68 % intervals cover the truth in {share:.0%} of the realisations"
        )


def test_the_68_percent_intervals_cover_the_truth_in_50_to_85_percent_of_realisations(
    fits: list[FitResult],
) -> None:
    for result in fits:
        posterior = result.extra["posterior"]
        assert posterior["converged"], posterior["note"]
        assert posterior["stop"] == "samples" and posterior["draws"] >= 3000
    shares = coverage(fits)
    print("68 % coverage per parameter:", {k: f"{v:.0%}" for k, v in shares.items()})
    check_coverage(shares)


def test_intervals_a_third_as_wide_fail_the_coverage_check(fits: list[FitResult]) -> None:
    """The twin of the coverage test: intervals that understate the uncertainty are caught."""
    with pytest.raises(AssertionError, match="cover the truth"):
        check_coverage(coverage(fits, shrink=1 / 3))


def test_the_jacobian_covariance_agrees_with_dream_within_a_factor_2(
    fits: list[FitResult], superadam: Path, tmp_path: Path
) -> None:
    """Near-linear problem: the linear approximation and the posterior's spread agree."""
    for seed, result in list(enumerate(fits))[:5]:
        model = GenxModel.load(simulated_model(superadam, tmp_path, seed))
        model.set_fit_values([p.value for p in result.parameters])
        model.simulate()
        jacobian = jacobian_covariance(model)
        assert jacobian is not None
        posterior = {p["name"]: p["std"] for p in result.extra["posterior"]["parameters"]}
        for name, sigma in zip(jacobian.names, jacobian.sigma, strict=True):
            assert 0.5 <= sigma / posterior[name] <= 2.0, (
                f"{name}: Jacobian σ {sigma:.3g}, DREAM σ {posterior[name]:.3g}"
            )


def test_error_bars_are_the_68_percent_interval_around_the_fitted_value(fits: list[FitResult]) -> None:
    result = fits[0]
    by_name = {p["name"]: p for p in result.extra["posterior"]["parameters"]}
    for parameter in result.parameters:
        low, high = by_name[parameter.name]["p68"]
        assert parameter.error_low == pytest.approx(low - parameter.value)
        assert parameter.error_high == pytest.approx(high - parameter.value)
        assert parameter.error_low is not None and parameter.error_high is not None
        assert parameter.error_low < 0 < parameter.error_high
    correlation = np.array(result.extra["posterior"]["correlation"])
    assert np.allclose(np.diag(correlation), 1.0) and np.all(np.abs(correlation) <= 1 + 1e-9)
    assert all(p["r_hat"] < 1.1 and p["ess"] > 50 for p in by_name.values())


def test_files_csv_columns_and_the_models_error_column(superadam: Path, tmp_path: Path) -> None:
    path = simulated_model(superadam, tmp_path, 100)
    out = tmp_path / "out" / "fitted.hgx"
    result = metagenx.fit(path, seed=3, out=out, **FIT, **SAMPLING)
    for name in ("corner.png", "corner.svg", "band.png", "band.svg", "posterior_draws.csv"):
        assert (out.parent / name).stat().st_size > 0, name
    rows = {row["name"]: row for row in csv.DictReader((out.parent / "parameters.csv").open())}
    for parameter in result.parameters:
        row = rows[parameter.name]
        assert float(row["p68_low"]) < float(row["median"]) < float(row["p68_high"])
        assert float(row["p95_low"]) < float(row["p68_low"]) and float(row["r_hat"]) < 1.1
    draws = list(csv.reader((out.parent / "posterior_draws.csv").open()))
    assert draws[0] == [p.name for p in result.parameters] and len(draws) > 1000
    written = GenxModel.load(out)
    errors = {row.name: row.error for row in written.parameters if row.name in TRUTH}
    for parameter in result.parameters:
        assert errors[parameter.name] == f"({parameter.error_low:.3e}, {parameter.error_high:.3e})"

    again = metagenx.fit(path, seed=3, out=out, **FIT)  # no posterior this time: none of its files stay
    assert "posterior" not in again.extra
    assert not any((out.parent / n).exists() for n in ("corner.png", "band.svg", "posterior_draws.csv"))


def test_a_time_cap_during_burn_in_is_reported_as_not_converged(superadam: Path, tmp_path: Path) -> None:
    model = GenxModel.load(simulated_model(superadam, tmp_path, 7))
    model.simulate()
    posterior = sample_posterior(model, SamplingSettings(samples=100_000, burn=100_000, max_time=0.5, seed=1))
    assert posterior.stop == "time" and not posterior.converged
    assert "burn-in" in posterior.note
    assert [p.value for p in model.fit_parameters] == list(TRUTH.values())


def test_a_stop_during_sampling_records_no_posterior(superadam: Path, tmp_path: Path) -> None:
    """Asked to stop while sampling: the finished fit stands; no half-sampled posterior is recorded."""
    stop = threading.Event()
    path = simulated_model(superadam, tmp_path, 8)

    def progress(p: object) -> None:
        if getattr(p, "sampling", None) is not None:
            stop.set()

    result = metagenx.fit(
        path,
        seed=1,
        max_generations=5,
        uncertainty=True,
        uncertainty_samples=10**6,
        progress=progress,
        stop_event=stop,
    )
    assert result.complete
    assert "stopped on request" in result.extra["posterior"]["skipped"]
    assert all(p.error_low is None for p in result.parameters)


def test_points_without_error_bars_give_a_clear_reason(superadam: Path, tmp_path: Path) -> None:
    model = GenxModel.load(simulated_model(superadam, tmp_path, 9))
    data = model.model.data[0]
    data.error_raw = np.where(np.arange(len(data.error_raw)) % 10 == 0, 0.0, data.error_raw)
    data.run_command()
    path = model.save(tmp_path / "no-errors.hgx")
    result = metagenx.fit(path, seed=1, max_generations=5, progress=False, uncertainty=True)
    assert "without a positive error bar" in result.extra["posterior"]["skipped"]


def test_effective_sample_size_of_independent_and_correlated_chains() -> None:
    rng = np.random.default_rng(1)
    independent = rng.normal(size=(2000, 8, 1))
    assert effective_sizes(independent)[0] == pytest.approx(16000, rel=0.15)
    phi = 0.9
    chained = np.zeros((4000, 8, 1))
    for step in range(1, 4000):
        chained[step] = phi * chained[step - 1] + rng.normal(size=(8, 1))
    expected = 4000 * 8 * (1 - phi) / (1 + phi)
    assert effective_sizes(chained)[0] == pytest.approx(expected, rel=0.3)
    assert math.isfinite(effective_sizes(np.ones((50, 4, 1)))[0])


def test_the_same_seed_gives_the_same_draws(superadam: Path, tmp_path: Path) -> None:
    """bumps' DREAM steps draw from numba's generator as well as NumPy's: both are seeded."""
    model = GenxModel.load(simulated_model(superadam, tmp_path, 11))
    model.simulate()
    settings = SamplingSettings(samples=600, burn=20, max_time=60, seed=5)
    first, second = (sample_posterior(model, settings) for _ in range(2))
    assert np.array_equal(first.sample, second.sample)
    assert first.parameters == second.parameters and first.covariance == second.covariance
    other = sample_posterior(model, SamplingSettings(samples=600, burn=20, max_time=60, seed=6))
    assert not np.array_equal(first.sample, other.sample)


def malformed(record: dict[str, Any], change: str) -> object:
    """``record`` broken in one way a hostile runner might."""
    broken = json.loads(json.dumps(record))
    match change:
        case "a long name":
            broken["parameters"][0]["name"] = "x" * 5000
        case "a ragged covariance":
            broken["covariance"][0] = broken["covariance"][0][:1]
        case "an unknown stop":
            broken["stop"] = "<script>"
        case "text for a number":
            broken["parameters"][0]["median"] = "1e3"
        case "a list":
            return [broken]
    return broken


@pytest.mark.parametrize(
    "change", ["a long name", "a ragged covariance", "an unknown stop", "text for a number", "a list"]
)
def test_the_boundary_refuses_a_malformed_posterior_record(
    fits: list[FitResult], change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner's posterior record is checked before anything shows or stores it; with the check
    switched off, the same forged message gets through."""
    from metagenx.errors import RunnerProtocolError
    from metagenx.events import Finished
    from metagenx.runner import protocol

    result = fits[0]
    good = Finished(1, result)
    assert protocol.decode_runner_message(protocol.encode(good)).result.extra["posterior"]  # type: ignore[union-attr]
    forged = Finished(
        1,
        dataclasses.replace(
            result, extra={**result.extra, "posterior": malformed(result.extra["posterior"], change)}
        ),
    )
    with pytest.raises(RunnerProtocolError, match="malformed posterior record"):
        protocol.decode_runner_message(protocol.encode(forged))
    monkeypatch.setattr(protocol, "check_posterior", lambda record: None)
    protocol.decode_runner_message(protocol.encode(forged))


def test_a_long_reason_stays_inside_what_the_runner_boundary_accepts(fits: list[FitResult]) -> None:
    """A long failure message must not turn a finished fit into a protocol violation."""
    from metagenx.engine.posterior import RECORD_TEXT, check_record
    from metagenx.runner.uncertainty import skipped

    record = skipped(fits[0], "x" * 10 * RECORD_TEXT).extra["posterior"]
    check_record(record)
    assert len(record["skipped"]) == RECORD_TEXT
