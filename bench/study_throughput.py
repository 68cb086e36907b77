"""Benchmark: a 12-fit study serially in one process vs on the local executor with 2 workers.

Both sides do the same work per fit (load the model, fit with a fixed seed and generation
budget, write every output file); the parallel side adds the job store, the controller and
the runner processes. Prints:

* parallel efficiency = serial wall time / (workers × parallel wall time) — 1.0 is perfect;
* per-fit overhead after warm-up: time from a job being claimed to its result being in
  the store, minus the runner's own time on the task (loading the model, fitting, writing
  the outputs: the work the serial side does too), median over the fits that ran on an
  already warm runner.

    python bench/study_throughput.py              # 12 fits × 100 generations of X-ray_Reflectivity
    python bench/study_throughput.py --quick      # 4 fits × 10 generations
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from metagenx.controller import Controller
from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import examples_dir
from metagenx.engine.settings import FitSettings
from metagenx.executors import LocalExecutor
from metagenx.jobs import JobSpec
from metagenx.outputs import write_outputs
from metagenx.store import JobFilter, StudyKind, list_jobs, open_store
from metagenx.study.submit import submit_study


def serial(model: str, seeds: list[int], generations: int, folder: Path) -> tuple[float, list[float]]:
    """Wall time of all fits in this process, and each fit's own wall time."""
    fit_times = []
    started = time.perf_counter()
    for seed in seeds:
        loaded = GenxModel.load(model)
        result = run_fit(loaded, FitSettings(seed=seed, max_generations=generations))
        write_outputs(loaded, result, folder / f"seed{seed}" / "fit.hgx")
        fit_times.append(result.wall_time)
    return time.perf_counter() - started, fit_times


def parallel(model: str, seeds: list[int], generations: int, workers: int, folder: Path) -> dict[str, Any]:
    store = open_store(None, folder)
    specs = [
        JobSpec(label=f"seed={s}", model_path=model, settings={"seed": s, "max_generations": generations})
        for s in seeds
    ]
    study = submit_study(
        store, project="bench", name="throughput", kind=StudyKind.STUDY, specs=specs, directory=folder
    )
    controller = Controller(store, LocalExecutor(workers=workers))
    claimed: dict[int, float] = {}
    ended: dict[int, float] = {}
    pids: dict[int, int] = {}
    task_times: dict[int, float] = {}

    def listen(event: dict[str, Any]) -> None:
        now = time.perf_counter()
        if event.type == "claimed":
            claimed[event.job_id] = now
        elif event.type == "started":
            pids[event.job_id] = event.pid
        elif event.type == "result":
            ended[event.job_id] = now
            task_times[event.job_id] = event.result.extra["timings"]["task"]

    controller.listeners.append(listen)
    started = time.perf_counter()
    controller.run(study)
    wall = time.perf_counter() - started
    controller.close()
    with store.session() as session:
        jobs = list_jobs(session, JobFilter(study_id=study), limit=1000)
        fit_times = {j.id: float(j.result["wall_time"]) for j in jobs if j.result}
    first_per_pid: set[int] = set()
    warm_overheads, cold_overheads = [], []
    for job_id in sorted(claimed, key=claimed.get):  # type: ignore[arg-type]
        overhead = ended[job_id] - claimed[job_id] - task_times[job_id]
        pid = pids[job_id]
        (cold_overheads if pid not in first_per_pid else warm_overheads).append(overhead)
        first_per_pid.add(pid)
    return {
        "wall": wall,
        "warm": warm_overheads,
        "cold": cold_overheads,
        "fit_times": list(fit_times.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fits", type=int, default=12)
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.fits, args.generations = 4, 10
    model = str(Path(examples_dir()) / "X-ray_Reflectivity.hgx")
    seeds = list(range(1, args.fits + 1))
    with tempfile.TemporaryDirectory() as tmp:
        serial_wall, serial_fits = serial(model, seeds, args.generations, Path(tmp) / "serial")
        outcome = parallel(model, seeds, args.generations, args.workers, Path(tmp) / "parallel")
    efficiency = serial_wall / (args.workers * outcome["wall"])
    serial_median = statistics.median(serial_fits)
    parallel_median = statistics.median(outcome["fit_times"])
    print(f"{args.fits} fits of X-ray_Reflectivity, {args.generations} generations each")
    print(f"serial, one process:        {serial_wall:7.1f} s (median fit {serial_median:.2f} s)")
    print(
        f"local executor, {args.workers} workers:  {outcome['wall']:7.1f} s"
        f" (median fit {parallel_median:.2f} s)"
    )
    print(f"parallel efficiency = serial / ({args.workers} x parallel) = {efficiency:.3f}")
    if outcome["warm"]:
        warm = outcome["warm"]
        print(
            "per-fit overhead on a warm runner (claim -> result stored, minus the runner's task time):"
            " "
            f"median {statistics.median(warm):.3f} s, max {max(warm):.3f} s"
        )
    cold = statistics.median(outcome["cold"])
    print(f"first fit per runner (process start, GenX import): overhead median {cold:.3f} s")


if __name__ == "__main__":
    main()
