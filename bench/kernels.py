"""Benchmark: GenX's numba kernels against its numpy kernels, per model, on one core.

For each bundled reflectivity example, two fresh processes (one per kind of kernels, numba's
threads pinned to one) load the model, evaluate it once untimed (numba: loads its compiled
kernels from the cache) and then time ``--evaluations`` evaluations; the two sides alternate
for ``--rounds`` rounds, so a busy machine slows both alike. Prints the median time of one
evaluation per side and the ratio numba / numpy (below 1: numba is faster), the FOMs of both
sides (which must agree to 1e-10), and which kernels ``metagenx fit`` would choose. With
``--compile`` it first times the one-time compilation into a fresh, empty cache.

    python bench/kernels.py                 # 3 rounds of 200 evaluations
    python bench/kernels.py --compile       # and the cold compilation
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from metagenx.engine.kernels import cache_dir
from metagenx.engine.runtime import examples_dir

MODELS = ("X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx")

TIMER = """
import json, sys, time
from metagenx.engine.kernels import switch
from metagenx.engine.model import GenxModel
kernels, path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = GenxModel.load(path)
switch(kernels)
model.compile()
fom = model.simulate()
started = time.perf_counter()
for _ in range(count):
    model.simulate(recompile=False)
print(json.dumps({"fom": fom, "seconds": (time.perf_counter() - started) / count}))
"""


def one_core_env(cache: Path | None = None) -> dict[str, str]:
    env = dict(os.environ) | {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("METAGENX_KERNELS", None)
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    return env


def time_side(kernels: str, model: Path, evaluations: int) -> tuple[float, float]:
    """(FOM, seconds per evaluation) of ``model`` on ``kernels``, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", TIMER, kernels, str(model), str(evaluations)],
        capture_output=True,
        text=True,
        env=one_core_env(),
        check=True,
    )
    values = json.loads(done.stdout.strip().splitlines()[-1])
    return float(values["fom"]), float(values["seconds"])


def cold_compile() -> float:
    """Seconds to compile GenX's kernels into an empty cache (``python -m metagenx.engine.kernels``)."""
    with tempfile.TemporaryDirectory(prefix="metagenx-numba-") as folder:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "metagenx.engine.kernels"],
            env=one_core_env(Path(folder)),
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--evaluations", type=int, default=200)
    parser.add_argument("--compile", action="store_true", help="also time the cold compilation")
    args = parser.parse_args()
    if args.compile:
        print(f"cold compilation of GenX's kernels (one core): {cold_compile():.1f} s")
    subprocess.run([sys.executable, "-m", "metagenx.engine.kernels"], env=one_core_env(), check=True)
    print(f"kernel cache: {cache_dir()}; {args.rounds} rounds × {args.evaluations} evaluations, one core")
    print(f"{'model':<22} {'numba ms':>9} {'numpy ms':>9} {'numba/numpy':>12} {'FOM difference':>15}  chosen")
    for name in MODELS:
        model = Path(examples_dir()) / name
        times: dict[str, list[float]] = {"numba": [], "numpy": []}
        foms: dict[str, float] = {}
        for _ in range(args.rounds):
            for kernels in ("numba", "numpy"):
                foms[kernels], seconds = time_side(kernels, model, args.evaluations)
                times[kernels].append(seconds)
        numba, numpy = (1000 * statistics.median(times[k]) for k in ("numba", "numpy"))
        difference = abs(foms["numba"] - foms["numpy"]) / abs(foms["numpy"])
        chosen = "numba" if numba < numpy else "numpy"
        ratio = numba / numpy
        print(f"{model.stem:<22} {numba:>9.2f} {numpy:>9.2f} {ratio:>12.2f} {difference:>15.1e}  {chosen}")
        assert difference <= 1e-10, f"{name}: the kernels disagree by {difference:.1e}"


if __name__ == "__main__":
    main()
