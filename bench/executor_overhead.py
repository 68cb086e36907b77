"""Benchmark: the same study on the ``local`` executor (2 processes) and on ``dask`` (a local cluster:
a scheduler and 2 worker processes × 1 thread, started before timing), same seeds.

Both sides run the same runner child, so the difference is the executor's own cost. The runs
alternate local, dask, dask, local, ... (ABBA) so that a drifting load on a shared machine
falls on both sides alike; every run starts fresh runner processes. Prints:

* wall-time ratio dask / local: total over all runs, and per round (expected ≤ 1.10);
* per-job dispatch latency: from the controller handing the job over (``claimed``) to the
  runner starting it (``started``), median over fits on an already warm runner;
* per-fit overhead: claim → result recorded, minus the runner's own time on the task;
* the median fit (task) time on each side: a slower fit under dask would be CPU taken by Dask;
* on paper: the overhead as a fraction of a typical fit (median task time), which bounds the
  efficiency at N workers at 1 / (1 + fraction) (as long as one controller keeps up).

    python bench/executor_overhead.py              # 12 fits × 30 generations of X-ray_Reflectivity, 2 rounds
    python bench/executor_overhead.py --quick      # 4 fits × 10 generations, 1 round
    python bench/executor_overhead.py --slurm      # dask's workers are Slurm jobs (expected ratio <= 1.15)

With ``--slurm`` the dask side's workers are batch jobs of a Slurm cluster, started by dask-jobqueue as
``metagenx cluster slurm`` starts them (one job of one single-threaded worker per local process): the
Slurm this machine has (``sinfo`` answers), or else, as root with Debian's slurm-wlm and munge, a
one-node Slurm started for the run (tests/slurm/one_node.py). The workers' start-up (submission until
every worker joined) is reported on its own and is not in the wall times.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metagenx.controller import Controller
from metagenx.engine.runtime import examples_dir
from metagenx.executors import LocalExecutor
from metagenx.executors.base import Executor
from metagenx.executors.dask import DaskExecutor
from metagenx.executors.dask_batch import BatchRequest, start_batch_cluster
from metagenx.executors.dask_connect import open_client
from metagenx.executors.dask_local import LocalDaskCluster
from metagenx.jobs import JobSpec
from metagenx.store import JobFilter, StudyKind, list_jobs, open_store
from metagenx.study.submit import submit_study


def run(executor: Executor, model: str, seeds: list[int], generations: int, folder: Path) -> dict[str, Any]:
    """Run the study on ``executor``; wall time (s), event times, FOMs by seed."""
    store = open_store(None, folder)
    specs = [
        JobSpec(label=f"seed={s}", model_path=model, settings={"seed": s, "max_generations": generations})
        for s in seeds
    ]
    study = submit_study(  # a new owner per run: no warm runner is left from an earlier run
        store,
        project="bench",
        name="overhead",
        kind=StudyKind.STUDY,
        specs=specs,
        directory=folder,
        owner=folder.name,
    )
    controller = Controller(store, executor)
    events: list[tuple[float, dict[str, Any]]] = []
    controller.listeners.append(lambda event: events.append((time.perf_counter(), event)))
    started = time.perf_counter()
    summary = controller.run(study)
    wall = time.perf_counter() - started
    controller.close()
    with store.session() as session:
        foms = {j.settings["seed"]: j.fom for j in list_jobs(session, JobFilter(study_id=study), limit=1000)}
    store.close()
    assert summary.counts.get("succeeded") == len(seeds), summary.counts
    return {"wall": wall, "events": events, "foms": foms}


def latencies(events: list[tuple[float, dict[str, Any]]]) -> dict[str, list[float]]:
    """Dispatch latency and overhead of warm fits, and every fit's task time (s)."""
    claimed: dict[int, float] = {}
    started: dict[int, tuple[float, int]] = {}
    out: dict[str, list[float]] = {"dispatch": [], "overhead": [], "task": []}
    seen_runners: set[int] = set()
    for moment, event in events:
        kind, job = event.type, event.job_id
        if kind == "claimed":
            claimed[job] = moment
        elif kind == "started":
            started[job] = (moment, event.pid)
        elif kind == "result":
            task = float(event.result.extra["timings"]["task"])
            out["task"].append(task)
            when, runner = started[job]
            if runner in seen_runners:  # warm: no process start or GenX import in these numbers
                out["dispatch"].append(when - claimed[job])
                out["overhead"].append(moment - claimed[job] - task)
            seen_runners.add(runner)
    return out


def pooled(runs: list[dict[str, Any]]) -> dict[str, list[float]]:
    numbers: dict[str, list[float]] = {"dispatch": [], "overhead": [], "task": []}
    for one in runs:
        for name, values in latencies(one["events"]).items():
            numbers[name] += values
    return numbers


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[tuple[str, float, str]]:
    """A local Dask cluster: (scheduler address, start-up time in s, what it is)."""
    started = time.perf_counter()
    with LocalDaskCluster(workers) as cluster:
        yield cluster.address, time.perf_counter() - started, f"local cluster: {workers} workers x 1 thread"


@contextlib.contextmanager
def some_slurm(folder: Path) -> Iterator[str]:
    """This machine's Slurm when ``sinfo`` answers, else a one-node Slurm started here; what it is."""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        if subprocess.run(["sinfo", "-h"], capture_output=True, timeout=10).returncode == 0:
            yield "this machine's Slurm"
            return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.slurm.one_node import OneNodeSlurm, missing

    if missing():
        raise SystemExit(
            f"--slurm: no Slurm answers here and none can be started: missing {', '.join(missing())}"
        )
    folder.mkdir(mode=0o700)
    with OneNodeSlurm(folder) as slurm:
        os.environ["SLURM_CONF"] = str(slurm.conf)
        try:
            yield f"a one-node Slurm started for this run ({slurm.conf})"
        finally:
            del os.environ["SLURM_CONF"]


@contextlib.contextmanager
def slurm_cluster(workers: int, folder: Path) -> Iterator[tuple[str, float, str]]:
    """Dask workers as Slurm jobs (one single-threaded worker each): (address, start-up in s, what)."""
    with some_slurm(folder / "slurm") as which:
        request = BatchRequest(
            cores=1,
            memory="1GB",
            walltime="01:00:00",
            jobs=workers,
            host="127.0.0.1",
            port=0,
            job_directives=[f"--output={folder}/slurm-%j.out"],
        )
        started = time.perf_counter()
        cluster = start_batch_cluster("slurm", request)
        try:
            client = open_client(str(cluster.scheduler_address), timeout=10)
            try:
                client.wait_for_workers(workers, timeout=300)
            finally:
                client.close()
            startup = time.perf_counter() - started
            yield (
                str(cluster.scheduler_address),
                startup,
                f"{workers} Slurm jobs x 1 worker x 1 thread, {which}",
            )
        finally:
            cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fits", type=int, default=12)
    parser.add_argument("--generations", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="Pairs of runs (local+dask), in ABBA order.")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--slurm", action="store_true", help="Dask's workers are Slurm jobs (see above).")
    args = parser.parse_args()
    if args.quick:
        args.fits, args.generations, args.rounds = 4, 10, 1
    model = str(Path(examples_dir()) / "X-ray_Reflectivity.hgx")
    seeds = list(range(1, args.fits + 1))
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "dask": []}
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        cluster = slurm_cluster(args.workers, Path(tmp)) if args.slurm else local_cluster(args.workers)
        address, startup, described = stack.enter_context(cluster)
        for number in range(args.rounds):
            order = ("local", "dask") if number % 2 == 0 else ("dask", "local")
            for name in order:
                executor: Executor = (
                    LocalExecutor(workers=args.workers) if name == "local" else DaskExecutor(address)
                )
                folder = Path(tmp) / f"{name}{number}"
                runs[name].append(run(executor, model, seeds, args.generations, folder))
    local_wall = sum(r["wall"] for r in runs["local"])
    dask_wall = sum(r["wall"] for r in runs["dask"])
    same = all(r["foms"] == runs["local"][0]["foms"] for r in runs["local"] + runs["dask"])
    print(
        f"{args.fits} fits of X-ray_Reflectivity, {args.generations} generations each,"
        f" {args.workers} workers, {args.rounds} round(s) in ABBA order"
    )
    walls = {name: ", ".join(f"{r['wall']:.1f}" for r in runs[name]) for name in runs}
    print(f"local executor: {local_wall:8.2f} s in all   ({walls['local']})")
    print(f"dask executor:  {dask_wall:8.2f} s in all   ({walls['dask']})   {described}")
    print(f"dask workers' start-up (not in the wall times): {startup:.2f} s")
    rounds = [d["wall"] / loc["wall"] for loc, d in zip(runs["local"], runs["dask"], strict=True)]
    goal = 1.15 if args.slurm else 1.10
    print(
        f"wall-time ratio dask/local = {dask_wall / local_wall:.3f}"
        f"   per round: {', '.join(f'{r:.3f}' for r in rounds)}   (expected <= {goal:.2f})"
    )
    print(f"same FOM for every seed in every run: {same}")
    print("per warm fit, median (max):")
    for name in ("local", "dask"):
        numbers = pooled(runs[name])
        dispatch, overhead = numbers["dispatch"], numbers["overhead"]
        print(
            f"  {name:5s} dispatch claim->started {median(dispatch) * 1e3:6.1f} ms"
            f" ({max(dispatch, default=float('nan')) * 1e3:.1f}),"
            f" overhead claim->result - task {median(overhead) * 1e3:6.1f} ms"
            f" ({max(overhead, default=float('nan')) * 1e3:.1f}), median fit {median(numbers['task']):.2f} s"
        )
    numbers = pooled(runs["dask"])
    fit, overhead = median(numbers["task"]), median(numbers["overhead"])
    fraction = overhead / fit
    print(
        f"on paper (dask): median fit {fit:.2f} s, overhead per fit {overhead * 1e3:.1f} ms = {fraction:.2%}"
    )
    print(
        f"  each worker idles that long per fit, so at any N workers efficiency <= 1 / (1 + {fraction:.4f})"
        f" = {1 / (1 + fraction):.3f} (while one controller keeps up with N / {fit:.1f} s results per s)"
    )


if __name__ == "__main__":
    main()
