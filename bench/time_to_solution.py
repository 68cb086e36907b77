"""Benchmark: time to solution of `metagenx solve` vs GenX's own optimizer, ERT as in COCO/BBOB.

For each model and seed, one after the other (never side by side):

* GenX: its own ``DiffEv`` with the file's settings and GenX's default stopping rule (its
  generation budget), one start, in a fresh process, timed per generation, capped at
  ``--genx-cap`` s. GenX runs single-process (its default), so it uses one of the cores.
* metagenx: ``solve`` with its default settings (racing starts on every core, polish,
  stop at the target reliability), budget ``--solve-budget`` s. Its clock starts before
  its runner processes are spawned, so it includes their start-up (~1 s); GenX's clock
  starts after its model is loaded.

Target: within 1 % of the best-known FOM of the model (``bench/reference_foms.json``,
established by long runs: ``--establish``). Per side and model it prints the success rate,
the median time-to-target of the successful runs, and the expected running time
ERT = (time of all runs: up to the target for successful ones, the whole run for the
others) / (number of successful runs); for metagenx also the ERT counting every solve's
whole wall time (the time until it returns its answer). Then the ERT ratio GenX/metagenx
per model and its geometric mean.

    python bench/time_to_solution.py                       # 20 seeds, GenX cap 600 s (hours)
    python bench/time_to_solution.py --seeds 5 --genx-cap 120
    python bench/time_to_solution.py --quick               # smoke: SuperAdam, 1 seed, small caps
    python bench/time_to_solution.py --establish --models D17_TOF_SiO.hgx   # long runs → reference
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS = ("X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx")
REFERENCE = Path(__file__).with_name("reference_foms.json")
AGREE = 0.01


@dataclass
class Run:
    """One run: time to target (s, None: missed), its whole time (s) and its best FOM."""

    time_to_target: float | None
    total: float
    fom: float


def genx_run(path: str, seed: int, cap: float, target: float) -> Run:
    """GenX's DiffEv exactly as the file configures it, one process, stopped at its own rule or ``cap``."""
    import numpy as np

    from metagenx.engine.runtime import genx

    modules = genx()
    controller = modules.model_control.ModelController(modules.diffev.DiffEv())
    controller.load_file(path)
    optimizer = controller.optimizer
    optimizer.opt.use_parallel_processing = False
    model = controller.get_model()
    model.simulate()
    started = [0.0]
    hit: list[float] = []
    best = [math.inf]

    class Recorder(modules.diffev.DiffEvDefaultCallbacks):  # type: ignore[misc, name-defined]
        def text_output(self, text: str) -> None:
            pass

        def parameter_output(self, info: Any) -> None:
            elapsed = time.perf_counter() - started[0]
            best[0] = min(best[0], float(optimizer.best_fom))
            if not hit and best[0] <= target:
                hit.append(elapsed)
            if elapsed > cap:
                optimizer.stop = True

    optimizer.set_callbacks(Recorder())
    np.random.seed(seed)
    optimizer.reset()
    optimizer.init_fitting(model)
    started[0] = time.perf_counter()
    optimizer.optimize()
    return Run(hit[0] if hit else None, time.perf_counter() - started[0], best[0])


def solve_run(path: str, seed: int, budget: float, target: float, reliability: float | None) -> Run:
    from metagenx.solve import SolveSettings, solve, start_settings

    settings = SolveSettings(fit=start_settings({"seed": seed}), budget=budget)
    if reliability is not None:
        settings = settings.replace(target_reliability=reliability)
    result = solve(path, settings)
    return Run(result.time_to(target), result.wall_time, result.fom)


def fresh(function: Any, *args: Any) -> Any:
    """Run ``function(*args)`` in a fresh spawned process (GenX keeps process-wide state)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def ert(runs: list[Run], *, whole: bool = False) -> float:
    """COCO's expected running time, s; ``whole``: count every run's whole time, hit or not.

    With no successful run the ERT is unbounded; this returns the lower bound it would have
    with one success (the time of all runs), flagged by :func:`solved_none`.
    """
    hits = [r for r in runs if r.time_to_target is not None]
    spent = sum(r.total if whole or r.time_to_target is None else r.time_to_target for r in runs)
    return spent / max(len(hits), 1)


def solved_none(runs: list[Run]) -> bool:
    return all(r.time_to_target is None for r in runs)


def describe(label: str, runs: list[Run]) -> str:
    hits = [r.time_to_target for r in runs if r.time_to_target is not None]
    median = f"{statistics.median(hits):7.1f} s" if hits else "      –  "
    return (
        f"  {label:<9} success {len(hits):>2}/{len(runs):<2} ({100 * len(hits) / len(runs):3.0f} %)  "
        f"median time-to-target {median}  ERT {'>' if solved_none(runs) else ' '}{ert(runs):8.1f} s  "
        f"best FOM {min(r.fom for r in runs):.6g}"
    )


def establish(models: list[str], folder: str, budget: float, seeds: int) -> None:
    """Long solves (reliability 0.999) per model; keep the best FOM seen in the reference file."""
    reference = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}
    for name in models:
        best = min(
            fresh(solve_run, f"{folder}/{name}", 7000 + s, budget, -math.inf, 0.999).fom for s in range(seeds)
        )
        known = reference.get(name, {}).get("fom", math.inf)
        if best < known:
            reference[name] = {
                "fom": best,
                "command": f"python bench/time_to_solution.py --establish --models {name} "
                f"--solve-budget {budget:g} --seeds {seeds}",
                "date": time.strftime("%Y-%m-%d"),
            }
        print(f"{name}: best of {seeds} long solves {best:.6g}; reference {reference[name]['fom']:.6g}")
    REFERENCE.write_text(json.dumps(reference, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--seeds", type=int, default=20, help="runs per side and model")
    parser.add_argument("--genx-cap", type=float, default=600.0, help="cap on each GenX run, s")
    parser.add_argument("--solve-budget", type=float, default=600.0, help="budget of each metagenx solve, s")
    parser.add_argument("--quick", action="store_true", help="smoke: SuperAdam, 1 seed, caps 5 s and 10 s")
    parser.add_argument("--establish", action="store_true", help="long solves to set the reference FOMs")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    if args.quick:
        args.models, args.seeds, args.genx_cap, args.solve_budget = ["SuperAdam_SiO.hgx"], 1, 5.0, 10.0

    from metagenx.engine.runtime import examples_dir

    folder = examples_dir()
    if args.establish:
        establish(args.models, folder, args.solve_budget, args.seeds)
        return
    reference = json.loads(REFERENCE.read_text())
    print(
        f"time to solution on {os.cpu_count()} cores: {args.seeds} seeds per side, GenX capped at "
        f"{args.genx_cap:g} s, solve budget {args.solve_budget:g} s, target within {100 * AGREE:g} % of "
        f"the best-known FOM; load average at start {os.getloadavg()[0]:.1f}"
    )
    ratios, raw = [], {}
    for name in args.models:
        target = reference[name]["fom"] * (1 + AGREE)
        path = f"{folder}/{name}"
        genx_runs = [fresh(genx_run, path, seed, args.genx_cap, target) for seed in range(1, args.seeds + 1)]
        ours = [
            fresh(solve_run, path, 1000 * seed, args.solve_budget, target, None)
            for seed in range(1, args.seeds + 1)
        ]
        ratio = math.nan if solved_none(ours) else ert(genx_runs) / ert(ours)
        ratios.append(ratio)
        print(f"{name}: best-known FOM {reference[name]['fom']:.6g}, target ≤ {target:.6g}")
        print(describe("GenX", genx_runs))
        print(describe("metagenx", ours) + f"  (ERT to answer {ert(ours, whole=True):.1f} s)")
        bound = " (at least: GenX never reached the target)" if solved_none(genx_runs) else ""
        print(f"  ERT ratio GenX/metagenx {ratio:.2f}{bound}")
        raw[name] = {
            "target": target,
            "genx": [vars(r) for r in genx_runs],
            "metagenx": [vars(r) for r in ours],
        }
    finite = [r for r in ratios if math.isfinite(r) and r > 0]
    if finite:
        geometric = math.exp(sum(math.log(r) for r in finite) / len(finite))
        print(f"geometric mean of the ERT ratios over {len(finite)} model(s): {geometric:.2f}")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
