"""Real fits of GenX's examples: parity with GenX, reproducibility, stopping, saving."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import metagenx
from metagenx.engine.fit import Progress, run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult, StopReason
from metagenx.engine.runtime import genx
from metagenx.engine.settings import FitSettings


def genx_reference_fit(path: Path, seed: int, generations: int) -> tuple[float, np.ndarray]:
    """GenX's own optimizer on the file's settings, with a generation cap: (best FOM, best vector)."""
    modules = genx()
    controller = modules.model_control.ModelController(modules.diffev.DiffEv())
    controller.load_file(str(path))
    optimizer = controller.optimizer
    optimizer.opt.use_max_generations = True
    optimizer.opt.max_generations = generations
    model = controller.get_model()
    model.simulate()
    np.random.seed(seed)
    optimizer.reset()
    optimizer.init_fitting(model)
    optimizer.optimize()
    return float(optimizer.best_fom), np.array(optimizer.best_vec)


@pytest.mark.parametrize("genx_defaults", [False, True])
def test_same_seed_and_cap_gives_genx_s_own_fom(superadam: Path, genx_defaults: bool) -> None:
    reference_fom, reference_vec = genx_reference_fit(superadam, seed=7, generations=8)
    result = metagenx.fit(superadam, seed=7, max_generations=8, genx_defaults=genx_defaults, tolerance=0.0)
    assert result.fom == reference_fom
    assert [p.value for p in result.parameters] == list(reference_vec)
    assert result.generations == 8
    assert result.stop_reason is StopReason.MAX_GENERATIONS


def fit_summary(result: FitResult) -> str:
    return json.dumps({"fom": repr(result.fom), "values": [repr(p.value) for p in result.parameters]})


def test_same_seed_is_bit_identical_in_this_process_and_a_fresh_one(xray: Path) -> None:
    first = metagenx.fit(xray, seed=3, max_generations=4)
    second = metagenx.fit(xray, seed=3, max_generations=4)
    assert fit_summary(first) == fit_summary(second)
    assert first.fom_history == second.fom_history
    code = (
        "import json, metagenx;"
        f"r = metagenx.fit({str(xray)!r}, seed=3, max_generations=4);"
        "print(json.dumps({'fom': repr(r.fom), 'values': [repr(p.value) for p in r.parameters]}))"
    )
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert fresh.stdout.strip().splitlines()[-1] == fit_summary(first)


def test_different_seeds_differ(superadam: Path) -> None:
    a = metagenx.fit(superadam, seed=1, max_generations=3)
    b = metagenx.fit(superadam, seed=2, max_generations=3)
    assert a.fom != b.fom


def test_result_holds_everything_a_scientist_needs(superadam: Path) -> None:
    seen: list[Progress] = []
    result = metagenx.fit(superadam, seed=1, max_generations=5, error_bars=True, progress=seen.append)
    assert [p.generation for p in seen] == list(range(6))
    assert all(b.best_fom <= a.best_fom for a, b in itertools.pairwise(seen))
    assert seen[-1].evaluations == result.evaluations == 50 * 6
    assert result.fom <= result.fom_start
    assert result.fom == pytest.approx(result.fom_history[-1], rel=1e-12)
    assert len(result.fom_history) == len(result.time_history) == 6
    assert result.seed == 1 and result.settings.population == 50 and result.settings.km == 0.6
    assert result.genx_version == "3.8.13"
    assert len(result.datasets) == 1 and len(result.datasets[0].simulated) == 321
    for p in result.parameters:
        assert p.min <= p.value <= p.max
        assert p.error_low is not None and p.error_high is not None
        assert p.error_low <= 0 <= p.error_high
    assert FitResult.from_json(result.to_json()).fom == result.fom


def test_seed_is_drawn_and_recorded_when_not_given(superadam: Path) -> None:
    result = metagenx.fit(superadam, max_generations=2)
    again = metagenx.fit(superadam, seed=result.seed, max_generations=2)
    assert again.fom == result.fom


def test_convergence_stops_before_the_generation_budget(superadam: Path) -> None:
    result = metagenx.fit(superadam, seed=1, tolerance=0.5, window=3, min_spread=0.0)
    assert result.stop_reason is StopReason.CONVERGED_FOM
    assert result.generations < result.settings.max_generations
    assert result.settings.max_generations == 6 * 9 * 50  # GenX's own budget for this file


def test_spread_rule_stops(superadam: Path) -> None:
    result = metagenx.fit(superadam, seed=1, tolerance=0.0, min_spread=0.95)
    assert result.stop_reason is StopReason.CONVERGED_SPREAD


def test_evaluation_and_time_budgets(superadam: Path) -> None:
    by_evals = metagenx.fit(superadam, seed=1, max_evaluations=120)
    assert by_evals.stop_reason is StopReason.MAX_EVALUATIONS
    assert 120 <= by_evals.evaluations < 120 + 50
    by_time = metagenx.fit(superadam, seed=1, max_time=0.5)
    assert by_time.stop_reason is StopReason.MAX_TIME


def test_stop_from_another_thread_returns_best_so_far(superadam: Path) -> None:
    stop = threading.Event()

    def on_progress(p: Progress) -> None:
        if p.generation == 4:
            threading.Thread(target=stop.set).start()

    model = GenxModel.load(superadam)
    result = run_fit(model, FitSettings(seed=1), progress=on_progress, stop_event=stop)
    assert result.stop_reason is StopReason.REQUESTED
    assert 4 <= result.generations <= 6
    assert result.fom == pytest.approx(min(result.fom_history), rel=1e-12)


def test_save_reload_reproduces_the_reported_fom(superadam: Path, tmp_path: Path) -> None:
    model = GenxModel.load(superadam)
    result = run_fit(model, FitSettings(seed=2, max_generations=5, km=0.8))
    saved = model.save(tmp_path / "fitted.hgx")
    again = GenxModel.load(saved)
    assert again.simulate() == result.fom
    assert [p.value for p in again.fit_parameters] == [p.value for p in result.parameters]
    assert again.optimizer_settings["km"] == 0.8
    assert again.optimizer_settings["use_max_generations"] is False, "the file's own stop rule is kept"


def test_polish_setting_polishes_the_fit_and_never_worsens_it(superadam: Path) -> None:
    plain = metagenx.fit(superadam, seed=1, max_generations=3)
    polished = metagenx.fit(superadam, seed=1, max_generations=3, polish=True)
    assert polished.fom <= plain.fom
    assert "polish" in polished.extra
    assert all(p.min <= p.value <= p.max for p in polished.parameters)
