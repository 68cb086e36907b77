"""Benchmark: what the posterior uncertainty costs, relative to the fit it follows.

For each bundled reflectivity example, ``--repeats`` seeded runs of ``metagenx fit`` with
``--uncertainty`` (metagenx's default fit settings; the sampling's ``--samples``, ``--burn`` and
time cap ``--time``), each in a fresh process on one core, as a runner runs them. Prints per
model the median wall time of the fit and of the sampling, their ratio (sampling ÷ fit), the
DREAM draws and generations, the smallest effective sample size over the parameters, effective
draws per second of sampling, the largest Gelman–Rubin R̂ and whether the chains converged.
Both sides run in the same process one after the other, so machine load affects them alike.

    python bench/uncertainty_cost.py                 # 3 runs per model, the default sampling
    python bench/uncertainty_cost.py --quick         # one tiny run of SuperAdam_SiO (smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from metagenx.engine.runtime import examples_dir
from metagenx.engine.settings import DEFAULT_UNCERTAINTY_BURN, DEFAULT_UNCERTAINTY_SAMPLES

MODELS = ("X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx")

RUN = """
import json, sys
import metagenx
path, out, seed, samples, burn, cap, generations = sys.argv[1:8]
extra = {} if generations == "none" else {"max_generations": int(generations)}
result = metagenx.fit(path, out=out, seed=int(seed), progress=False, uncertainty=True,
                      uncertainty_samples=int(samples), uncertainty_burn=int(burn),
                      uncertainty_time=float(cap), **extra)
posterior = result.extra["posterior"]
timings = result.extra["timings"]
print(json.dumps({"fit": timings["fit"], "sampling": timings["uncertainty"], "posterior": {
    k: posterior.get(k) for k in ("draws", "generations", "chains", "seconds", "converged", "note",
                                  "ess_per_second", "stop", "skipped")},
    "ess": min((p["ess"] for p in posterior.get("parameters", [])), default=0.0),
    "r_hat": max((p["r_hat"] for p in posterior.get("parameters", [])), default=float("nan"))}))
"""


def one_run(model: Path, seed: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """One fit + sampling of ``model`` in a fresh single-threaded process; its figures."""
    env = dict(os.environ) | {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = folder / f"{model.stem}-{seed}" / model.name
    command = [
        sys.executable,
        "-c",
        RUN,
        str(model),
        str(out),
        str(seed),
        str(args.samples),
        str(args.burn),
        str(args.time),
        "none" if args.generations is None else str(args.generations),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{model.name} seed {seed} failed:\n{done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=DEFAULT_UNCERTAINTY_SAMPLES)
    parser.add_argument("--burn", type=int, default=DEFAULT_UNCERTAINTY_BURN)
    parser.add_argument("--time", type=float, default=600.0, help="sampling time cap, s")
    parser.add_argument("--generations", type=int, default=None, help="cap the fit's generations")
    parser.add_argument("--quick", action="store_true", help="one tiny run of SuperAdam_SiO")
    args = parser.parse_args()
    if args.quick:
        args.models, args.repeats, args.samples, args.burn, args.generations = (
            ["SuperAdam_SiO.hgx"],
            1,
            500,
            10,
            5,
        )
    print(
        f"posterior sampling vs the fit: {args.repeats} run(s) per model, {args.samples} draws after"
        f" {args.burn} burn-in generations (cap {args.time:g} s), one core each"
    )
    header = (
        f"{'model':<24}{'fit s':>8}{'sampling s':>12}{'ratio':>8}{'draws':>8}{'gens':>6}"
        f"{'min ESS':>9}{'ESS/s':>8}{'max R̂':>8}  converged"
    )
    print(header)
    with tempfile.TemporaryDirectory(prefix="uncertainty-cost-") as folder:
        for name in args.models:
            runs = [
                one_run(Path(examples_dir()) / name, seed, args, Path(folder))
                for seed in range(1, args.repeats + 1)
            ]
            fit = statistics.median(float(r["fit"]) for r in runs)
            sampling = statistics.median(float(r["sampling"]) for r in runs)
            posts = [r["posterior"] for r in runs]
            skipped = [p.get("skipped") for p in posts if p.get("skipped")]
            if skipped:
                print(f"{name:<24} no posterior: {skipped[0]}")
                continue
            ess = statistics.median(float(r["ess"]) for r in runs)
            rate = statistics.median(float(p["ess_per_second"]) for p in posts)
            r_hat = max(float(r["r_hat"]) for r in runs)
            converged = sum(bool(p["converged"]) for p in posts)
            draws = int(statistics.median(int(p["draws"]) for p in posts))
            generations = int(statistics.median(int(p["generations"]) for p in posts))
            print(
                f"{Path(name).stem:<24}{fit:>8.2f}{sampling:>12.2f}{sampling / fit:>8.2f}{draws:>8}"
                f"{generations:>6}{ess:>9.0f}{rate:>8.1f}{r_hat:>8.3f}  {converged}/{len(runs)}"
            )
            notes = {str(p["note"]) for p in posts if p.get("note")}
            for note in sorted(notes):
                print(f"{'':<24}note: {note}")


if __name__ == "__main__":
    main()
