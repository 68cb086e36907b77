"""Benchmark: `metagenx fit` defaults vs GenX's own optimizer with GenX's default settings.

For each example and seed, in fresh processes run one after the other (never side by side):

* metagenx: ``run_fit`` with its defaults (the file's DE settings, convergence stopping);
* GenX: its own ``DiffEv`` with the file's settings and GenX's default stopping rule (the
  full generation budget), recording (time, best FOM) every generation, capped at ``--cap`` s.

Prints per run: metagenx wall time to stop and final FOM, the time GenX first reached that
FOM, GenX's time to its own stop (measured, or extrapolated from its generation rate when
the cap cut it short), and the ratio GenX-stop / metagenx-stop.

    python bench/fit_vs_genx.py                 # 3 examples, seed 1, cap 600 s (about 30 min)
    python bench/fit_vs_genx.py --quick         # smoke run: one example, small caps
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES = ("X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx")


@dataclass
class GenxRun:
    times: list[float]
    foms: list[float]
    generations: int
    budget: int
    capped: bool


def run_metagenx(path: str, seed: int) -> dict[str, Any]:
    from metagenx.engine.fit import run_fit
    from metagenx.engine.model import GenxModel
    from metagenx.engine.settings import FitSettings

    model = GenxModel.load(path)
    result = run_fit(model, FitSettings(seed=seed))
    return {
        "wall_time": result.wall_time,
        "fom": result.fom,
        "generations": result.generations,
        "stop_reason": result.stop_reason.value,
    }


def run_genx(path: str, seed: int, cap: float) -> GenxRun:
    """GenX's DiffEv exactly as the file configures it, timed per generation."""
    import numpy as np

    from metagenx.engine.runtime import genx

    modules = genx()
    controller = modules.model_control.ModelController(modules.diffev.DiffEv())
    controller.load_file(path)
    optimizer = controller.optimizer
    optimizer.opt.use_parallel_processing = False
    model = controller.get_model()
    model.simulate()
    times: list[float] = []
    foms: list[float] = []
    started = [0.0]

    class Recorder(modules.diffev.DiffEvDefaultCallbacks):  # type: ignore[misc, name-defined]
        def text_output(self, text: str) -> None:
            pass

        def parameter_output(self, info: Any) -> None:
            elapsed = time.perf_counter() - started[0]
            times.append(elapsed)
            foms.append(float(optimizer.best_fom))
            if elapsed > cap:
                optimizer.stop = True

    optimizer.set_callbacks(Recorder())
    np.random.seed(seed)
    optimizer.reset()
    optimizer.init_fitting(model)
    started[0] = time.perf_counter()
    optimizer.optimize()
    generations = len(foms) - 1
    return GenxRun(times, foms, generations, int(optimizer.max_gen), generations < optimizer.max_gen)


def in_fresh_process(function: Any, *args: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", nargs="*", default=list(EXAMPLES))
    parser.add_argument("--seeds", nargs="*", type=int, default=[1])
    parser.add_argument("--cap", type=float, default=600.0, help="cap on each GenX run, s")
    parser.add_argument("--quick", action="store_true", help="smoke: SuperAdam only, GenX capped at 20 s")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    if args.quick:
        args.examples, args.cap = ["SuperAdam_SiO.hgx"], 20.0

    from metagenx.engine.runtime import examples_dir

    rows = []
    for name in args.examples:
        path = str(Path(examples_dir()) / name)
        for seed in args.seeds:
            ours = in_fresh_process(run_metagenx, path, seed)
            theirs: GenxRun = in_fresh_process(run_genx, path, seed, args.cap)
            reached = next(
                (t for t, f in zip(theirs.times, theirs.foms, strict=True) if f <= ours["fom"]), None
            )
            per_generation = theirs.times[-1] / max(theirs.generations, 1)
            genx_stop = theirs.times[-1] if not theirs.capped else theirs.budget * per_generation
            rows.append(
                {
                    "example": name,
                    "seed": seed,
                    "metagenx": ours,
                    "genx_time_to_metagenx_fom": reached,
                    "genx_best_fom_within_cap": min(theirs.foms),
                    "genx_generations_run": theirs.generations,
                    "genx_budget_generations": theirs.budget,
                    "genx_time_to_own_stop": genx_stop,
                    "genx_stop_extrapolated": theirs.capped,
                    "ratio_genx_stop_over_metagenx_stop": genx_stop / ours["wall_time"],
                }
            )
            print_row(rows[-1])
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def print_row(row: dict[str, Any]) -> None:
    ours = row["metagenx"]
    reached = row["genx_time_to_metagenx_fom"]
    reached_text = f"{reached:7.1f} s" if reached is not None else "not reached within cap"
    mark = " (extrapolated)" if row["genx_stop_extrapolated"] else ""
    print(
        f"{row['example']:<24} seed {row['seed']}: metagenx stops after {ours['wall_time']:6.1f} s "
        f"at FOM {ours['fom']:.6g} ({ours['stop_reason']}, {ours['generations']} generations); "
        f"GenX reaches that FOM after {reached_text}, "
        f"stops after {row['genx_time_to_own_stop']:7.1f} s{mark} "
        f"({row['genx_budget_generations']} generations; best FOM {row['genx_best_fom_within_cap']:.6g}); "
        f"ratio GenX stop / metagenx stop = {row['ratio_genx_stop_over_metagenx_stop']:.1f}x",
        flush=True,
    )


if __name__ == "__main__":
    main()
