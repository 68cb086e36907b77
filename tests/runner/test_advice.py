"""The runner's advisor step: its record beside the posterior, and the parent's check of it."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from metagenx.engine.advice import advice_from
from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings
from metagenx.errors import RunnerProtocolError
from metagenx.runner.advice import with_advice
from metagenx.runner.protocol import check_result
from metagenx.study.results import advice_columns
from tests.engine.counting import counted_model


@pytest.fixture(scope="module")
def fitted(superadam: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[GenxModel, FitResult]:
    model = GenxModel.load(counted_model(superadam, tmp_path_factory.mktemp("counted"), 5))
    return model, run_fit(model, FitSettings(seed=1, max_generations=5, population=10))


def test_advice_is_recorded_beside_the_posterior_with_their_ratio(
    fitted: tuple[GenxModel, FitResult],
) -> None:
    model, result = fitted
    values = [p.value for p in model.fit_parameters]
    posterior = {"parameters": [{"name": "SiO.setD", "std": 0.2}, {"name": "SiO.setSigma", "std": 0.1}]}
    advised = with_advice(model, replace(result, extra={**result.extra, "posterior": posterior}))
    assert [p.value for p in model.fit_parameters] == values
    check_result(advised)
    advice = advice_from(advised.extra)
    assert advice is not None and advice.counting == "yes" and advice.x_axis == "2theta"
    checks = {c.name: c for c in advice.posterior}
    thickness = advice.parameter("SiO.setD")
    assert thickness is not None and thickness.sigma is not None
    ratio = checks["SiO.setD"].ratio
    assert checks["SiO.setD"].posterior == 0.2 and ratio is not None
    assert math.isclose(ratio, thickness.sigma / 0.2)
    assert checks["SiO.setDens"].posterior is None and checks["SiO.setDens"].ratio is None


def test_without_error_bars_the_advice_says_why(fitted: tuple[GenxModel, FitResult]) -> None:
    model, result = fitted
    skipped = {"covariance": {"skipped": "would take about 9 s, more than the fit allows"}}
    assert with_advice(model, replace(result, extra=skipped)).extra["advisor"] == {
        "skipped": "would take about 9 s, more than the fit allows"
    }


def test_a_record_the_parent_would_refuse_is_not_sent(
    fitted: tuple[GenxModel, FitResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fit is never failed by its advice: a record out of bounds (here a name too long) is skipped."""
    model, result = fitted
    monkeypatch.setattr("metagenx.engine.advice.MAX_NAME", 3)
    found = with_advice(model, result).extra["advisor"]
    assert set(found) == {"skipped"} and "out of bounds" in found["skipped"]


def test_a_malformed_advisor_record_is_refused_at_the_boundary(fitted: tuple[GenxModel, FitResult]) -> None:
    model, result = fitted
    advised = with_advice(model, result)
    record = advised.extra["advisor"]
    forged = {**record, "parameters": [{**record["parameters"][0], "sigma": "0.1; rm -rf"}]}
    with pytest.raises(RunnerProtocolError, match="advisor"):
        check_result(replace(advised, extra={**advised.extra, "advisor": forged}))
    with pytest.raises(RunnerProtocolError, match="advisor"):
        check_result(replace(advised, extra={**advised.extra, "advisor": {"skipped": "x" * 5000}}))


def test_through_a_fit_with_dream_the_predicted_sigma_matches_the_posterior(
    superadam: Path, tmp_path: Path
) -> None:
    """On Poisson data (a near-linear problem) the Fisher prediction and DREAM's standard deviation
    agree: their ratio, recorded in the result, is within 0.7–1.4 for each parameter."""
    import metagenx
    from tests.engine.counting import counted, counting_template, set_points

    template, curve = counting_template(superadam, tmp_path)
    model = GenxModel.load(template)
    y, error = counted(curve[:, 1], 1.0, 100)
    kept = y > 0  # the posterior needs every point's error bar
    set_points(model.model.data[0], curve[kept, 0], y[kept], error[kept])
    model.simulate()
    path = model.save(tmp_path / "counted.hgx")
    result = metagenx.fit(
        path,
        out=tmp_path / "fitted.hgx",
        seed=1,
        max_generations=40,
        population=10,
        progress=False,
        uncertainty=True,
        uncertainty_samples=4000,
        uncertainty_burn=200,
    )
    advice = advice_from(result.extra)
    assert advice is not None and len(advice.posterior) == 3
    ratios = {c.name: c.ratio for c in advice.posterior}
    print("predicted σ / posterior std:", ratios)
    assert all(r is not None and 0.7 < r < 1.4 for r in ratios.values()), ratios
    saved = json.loads((tmp_path / "result.json").read_text())["extra"]["advisor"]["posterior"]
    assert {c["name"]: c["ratio"] for c in saved} == ratios
    columns = advice_columns(result, {})  # a watch's results.csv
    assert {k: v for k, v in columns.items() if k.startswith("posterior_ratio:")} == {
        f"posterior_ratio:{name}": ratio for name, ratio in ratios.items()
    }
