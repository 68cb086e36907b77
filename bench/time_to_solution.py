"""Benchmark: time to solution of `metagenx solve` vs GenX's own optimizer, ERT as in COCO/BBOB.

For each model and seed:

* GenX: its own ``DiffEv`` with the file's settings and GenX's default stopping rule (its
  generation budget), one start, in a fresh process, timed per generation, capped at
  ``--genx-cap`` s. GenX runs single-process (its default), so it uses one of the cores;
  ``--genx-parallel 2`` runs two GenX runs side by side, each on a core of its own (each
  process is single-threaded: its CPU time is its wall time, within 2 %), which halves the
  benchmark's duration on 2 cores.
* metagenx: ``solve`` with its default settings (racing starts on every core, polish,
  stop at the target reliability), budget ``--solve-budget`` s, alone on the machine. Its
  clock starts before its runner processes are spawned, so it includes their start-up
  (~1 s); GenX's clock starts after its model is loaded.

As in COCO, a run ends when it reaches the target (``--run-out``: every run goes on to its
own end, which adds the metagenx "ERT to answer" column: the time until a solve returns).
Every finished run is appended to ``--record`` (JSON lines) as soon as it ends, and runs
already in that file with the same model, side, seed, limit and target are not run again:
an interrupted benchmark is resumed by running the same command again.

Target: within 1 % of the best-known FOM of the model (``bench/reference_foms.json``,
established by long runs: ``--establish``). Per side and model it prints the success rate,
the median time-to-target of the successful runs, and the expected running time
ERT = (time of all runs: up to the target for successful ones, the whole run for the
others) / (number of successful runs); with ``--run-out``, for metagenx also the ERT
counting every solve's whole wall time (the time until it returns its answer). Then the
ERT ratio GenX/metagenx per model and its geometric mean.

    python bench/time_to_solution.py                       # 20 seeds, GenX cap 600 s (hours)
    python bench/time_to_solution.py --genx-parallel 2 --record runs.jsonl   # as run for the README
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
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MODELS = ("X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx")
REFERENCE = Path(__file__).with_name("reference_foms.json")
AGREE = 0.01
SINGLE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass
class Run:
    """One run: time to target (s, None: missed), its whole time (s), its best FOM, its seed.

    ``generations``: GenX generations done (GenX runs only); ``cpu``: CPU time of the GenX
    process, s (equal to ``total`` when the run had a core to itself).
    """

    time_to_target: float | None
    total: float
    fom: float
    seed: int = 0
    generations: int | None = None
    cpu: float | None = None


def genx_run(path: str, seed: int, cap: float, target: float, stop_at_target: bool = True) -> Run:
    """GenX's DiffEv exactly as the file configures it, one process, stopped at its own rule or ``cap``.

    With ``stop_at_target`` the run also ends at the generation that reaches ``target``.
    """
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
    generations = [0]

    class Recorder(modules.diffev.DiffEvDefaultCallbacks):  # type: ignore[misc, name-defined]
        def text_output(self, text: str) -> None:
            pass

        def parameter_output(self, info: Any) -> None:
            elapsed = time.perf_counter() - started[0]
            generations[0] += 1
            best[0] = min(best[0], float(optimizer.best_fom))
            if not hit and best[0] <= target:
                hit.append(elapsed)
            if elapsed > cap or (hit and stop_at_target):
                optimizer.stop = True

    optimizer.set_callbacks(Recorder())
    np.random.seed(seed)
    optimizer.reset()
    optimizer.init_fitting(model)
    cpu = time.process_time()
    started[0] = time.perf_counter()
    optimizer.optimize()
    total = time.perf_counter() - started[0]
    return Run(hit[0] if hit else None, total, best[0], seed, generations[0], time.process_time() - cpu)


def solve_run(
    path: str,
    seed: int,
    budget: float,
    target: float,
    reliability: float | None,
    stop_at_target: bool = False,
) -> Run:
    """One ``solve`` with its default settings; ``stop_at_target``: ends once its best reaches ``target``."""
    from metagenx.solve import SolveSettings, solve, start_settings
    from metagenx.solve.starts import SolveProgress

    settings = SolveSettings(fit=start_settings({"seed": seed}), budget=budget)
    if reliability is not None:
        settings = settings.replace(target_reliability=reliability)
    reached = threading.Event()

    def watch(progress: SolveProgress) -> None:
        if stop_at_target and progress.best_fom <= target:
            reached.set()

    result = solve(path, settings, progress=watch, stop_event=reached)
    return Run(result.time_to(target), result.wall_time, result.fom, seed)


def single_threaded() -> None:
    """Pool initializer: keep a side-by-side GenX run on one core (read by numerical libraries at import)."""
    for name in SINGLE_THREAD:
        os.environ[name] = "1"


def fresh(function: Any, *args: Any) -> Any:
    """Run ``function(*args)`` in a fresh spawned process (GenX keeps process-wide state)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def run_key(model: str, side: str, seed: int, limit: float, target: float, stop: bool) -> dict[str, Any]:
    """What makes two runs the same run: ``limit`` is GenX's cap or the solve's budget, s."""
    return {
        "model": model,
        "side": side,
        "seed": seed,
        "limit": limit,
        "target": target,
        "stop_at_target": stop,
    }


class Record:
    """The runs done so far, one JSON line each in ``path`` (None: kept in memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.done: dict[str, Run] = {}
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.done[self.identity(entry["key"])] = Run(**entry["run"])

    @staticmethod
    def identity(key: dict[str, Any]) -> str:
        return json.dumps(
            {**key, "limit": round(key["limit"], 3), "target": f"{key['target']:.9g}"}, sort_keys=True
        )

    def get(self, key: dict[str, Any]) -> Run | None:
        return self.done.get(self.identity(key))

    def add(self, key: dict[str, Any], run: Run) -> Run:
        """Keep ``run`` (appended to the file at once) and say how it went on stderr."""
        self.done[self.identity(key)] = run
        if self.path is not None:
            with self.path.open("a") as file:
                file.write(json.dumps({"key": key, "run": asdict(run)}) + "\n")
        outcome = "missed" if run.time_to_target is None else f"target at {run.time_to_target:.1f} s"
        print(
            f"    {key['model']} {key['side']} seed {key['seed']}: {outcome}, ran {run.total:.1f} s, "
            f"FOM {run.fom:.6g}",
            file=sys.stderr,
            flush=True,
        )
        return run


def genx_side(
    record: Record,
    name: str,
    path: str,
    seeds: list[int],
    cap: float,
    target: float,
    stop: bool,
    parallel: int,
) -> list[Run]:
    """GenX's runs of ``seeds`` (taken from ``record`` where done), ``parallel`` side by side."""
    keys = {s: run_key(name, "genx", s, cap, target, stop) for s in seeds}
    done = {s: run for s in seeds if (run := record.get(keys[s])) is not None}
    missing = [s for s in seeds if s not in done]
    if missing:
        context = multiprocessing.get_context("spawn")
        initializer = single_threaded if parallel > 1 else None
        with ProcessPoolExecutor(
            parallel, mp_context=context, initializer=initializer, max_tasks_per_child=1
        ) as pool:
            futures = {pool.submit(genx_run, path, s, cap, target, stop): s for s in missing}
            for future in as_completed(futures):
                seed = futures[future]
                done[seed] = record.add(keys[seed], future.result())
    return [done[s] for s in seeds]


def solve_side(
    record: Record, name: str, path: str, seeds: list[int], budget: float, target: float, stop: bool
) -> list[Run]:
    """metagenx's solves of ``seeds`` (taken from ``record`` where done), one at a time."""
    runs = []
    for seed in seeds:
        key = run_key(name, "metagenx", seed, budget, target, stop)
        run = record.get(key) or record.add(key, fresh(solve_run, path, seed, budget, target, None, stop))
        runs.append(run)
    return runs


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
    parser.add_argument("--genx-parallel", type=int, default=1, help="GenX runs side by side (≤ cores)")
    parser.add_argument("--run-out", action="store_true", help="runs go on past the target to their own end")
    parser.add_argument("--record", type=Path, help="JSON lines of finished runs; resumes from it")
    parser.add_argument("--quick", action="store_true", help="smoke: SuperAdam, 1 seed, caps 5 s and 10 s")
    parser.add_argument("--establish", action="store_true", help="long solves to set the reference FOMs")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    if args.quick:
        args.models, args.seeds, args.genx_cap, args.solve_budget = ["SuperAdam_SiO.hgx"], 1, 5.0, 10.0
        args.run_out = True
    if not 1 <= args.genx_parallel <= (os.cpu_count() or 1):
        parser.error(f"--genx-parallel must be between 1 and the number of cores ({os.cpu_count()})")

    from metagenx.engine.runtime import examples_dir

    folder = examples_dir()
    if args.establish:
        establish(args.models, folder, args.solve_budget, args.seeds)
        return
    reference = json.loads(REFERENCE.read_text())
    record = Record(args.record)
    stop = not args.run_out
    print(
        f"time to solution on {os.cpu_count()} cores: {args.seeds} seeds per side, GenX capped at "
        f"{args.genx_cap:g} s ({args.genx_parallel} side by side), solve budget {args.solve_budget:g} s, "
        f"target within {100 * AGREE:g} % of the best-known FOM, "
        f"runs {'stop at the target' if stop else 'run out'}; "
        f"load average at start {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    seeds = list(range(1, args.seeds + 1))
    ratios, raw = [], {}
    for name in args.models:
        target = reference[name]["fom"] * (1 + AGREE)
        path = f"{folder}/{name}"
        genx_runs = genx_side(record, name, path, seeds, args.genx_cap, target, stop, args.genx_parallel)
        ours = solve_side(record, name, path, [1000 * s for s in seeds], args.solve_budget, target, stop)
        ratio = math.nan if solved_none(ours) else ert(genx_runs) / ert(ours)
        ratios.append(ratio)
        print(f"{name}: best-known FOM {reference[name]['fom']:.6g}, target ≤ {target:.6g}")
        print(describe("GenX", genx_runs))
        answer = f"  (ERT to answer {ert(ours, whole=True):.1f} s)" if not stop else ""
        print(describe("metagenx", ours) + answer)
        bound = " (at least: GenX never reached the target)" if solved_none(genx_runs) else ""
        print(f"  ERT ratio GenX/metagenx {ratio:.2f}{bound}", flush=True)
        raw[name] = {
            "target": target,
            "genx": [asdict(r) for r in genx_runs],
            "metagenx": [asdict(r) for r in ours],
        }
    finite = [r for r in ratios if math.isfinite(r) and r > 0]
    if finite:
        geometric = math.exp(sum(math.log(r) for r in finite) / len(finite))
        print(f"geometric mean of the ERT ratios over {len(finite)} model(s): {geometric:.2f}")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
