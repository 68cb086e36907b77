"""Benchmark: from a data file's completion to its fitted result in the store, during a watch.

Writes X-ray_Reflectivity-like data files (simulated from the bundled example, with noise)
into a watched folder one at a time, and measures for each the time from the moment the
file was closed to the moment its result was recorded in the job store. Prints the median
latency, the median fit wall time, and their difference: the pipeline overhead (waiting
for the file to settle, noticing it, queueing, loading, writing outputs, recording).

    python bench/watch_latency.py            # 8 files, 60 generations per fit
    python bench/watch_latency.py --quick    # 3 files, 10 generations
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import examples_dir
from metagenx.engine.settings import FitSettings
from metagenx.store import JobFilter, JobState, list_jobs
from metagenx.watch.session import WatchConfig, WatchSession


def data_file(template: Path, index: int) -> bytes:
    model = GenxModel.load(template)
    model.simulate()
    data = model.model.data[0]
    rng = np.random.default_rng(index)
    y = np.asarray(data.y_sim) * (1 + 0.02 * rng.standard_normal(len(data.x)))
    rows = np.column_stack([data.x, y, 0.02 * np.abs(y)])
    return ("\n".join(" ".join(f"{v:.10g}" for v in row) for row in rows) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.files, args.generations = 3, 10
    template = Path(examples_dir()) / "X-ray_Reflectivity.hgx"
    payloads = [data_file(template, i) for i in range(args.files)]
    with tempfile.TemporaryDirectory() as tmp:
        incoming, out = Path(tmp) / "incoming", Path(tmp) / "out"
        incoming.mkdir()
        config = WatchConfig(
            template=template,
            folder=incoming,
            pattern="*.dat",
            settings=FitSettings(seed=1, max_generations=args.generations),
            loader_options={"commands": "loader"},
        )
        session = WatchSession(config, out, workers=2)
        recorded: dict[int, float] = {}  # job id -> when its result was in the store
        session.listeners.append(lambda event: on_event(event, recorded))
        stop = threading.Event()
        thread = threading.Thread(target=session.run, args=(stop,), daemon=True)
        thread.start()
        time.sleep(3.0)  # let the runners start: the benchmark is about a warm watch
        completed: dict[str, float] = {}
        for index, payload in enumerate(payloads):
            name = f"scan{index:03d}.dat"
            (incoming / name).write_bytes(payload)
            completed[name] = time.perf_counter()
            wait_until(lambda count=index + 1: len(recorded) >= count, timeout=300)
        with session.store.session() as db:
            jobs = list_jobs(db, JobFilter(study_id=session.study_id), limit=1000)
            walls = {str(j.overrides["label"]): float(j.result["wall_time"]) for j in jobs if j.result}
            stored = {str(j.overrides["label"]): recorded[j.id] for j in jobs if j.id in recorded}
            failed = [j.overrides["label"] for j in jobs if j.state is JobState.FAILED]
        stop.set()
        thread.join(60)
    latencies = [stored[name] - completed[name] for name in completed if name in stored]
    overhead = [stored[name] - completed[name] - walls[name] for name in completed if name in walls]
    print(f"{len(latencies)} X-ray_Reflectivity data files, {args.generations} generations per fit")
    print(f"failed: {failed or 'none'}")
    print(f"median latency file closed -> result in the store: {statistics.median(latencies):.2f} s")
    print(f"median fit wall time:                             {statistics.median(walls.values()):.2f} s")
    median, worst = statistics.median(overhead), max(overhead)
    print(f"median pipeline overhead (latency - fit):         {median:.2f} s (max {worst:.2f} s)")


def on_event(event: dict[str, Any], recorded: dict[int, float]) -> None:
    """Listener on the controller thread: called after the result is recorded in the store."""
    if event.get("type") in ("result", "error"):
        recorded[int(event["job_id"])] = time.perf_counter()


def wait_until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("no result within the timeout")
        time.sleep(0.02)


if __name__ == "__main__":
    main()
