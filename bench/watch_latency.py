"""Benchmark: from a data file's completion to its fitted result, during a watch.

Writes X-ray_Reflectivity-like data files (simulated from the bundled example, with noise)
into a watched folder one at a time, and measures for each the time from the moment the
file was closed to the moment its result was known. Prints the median latency, the median
fit's own time (the runner's time in the fit: initial FOM, differential evolution, final FOM
and curves), and their difference: the pipeline overhead (waiting for the file to settle,
noticing it, queueing, loading the model and data, writing the output files, recording).

Local watch (the baseline): until the result is recorded in the job store. With
``--server`` also a watch on a local ``metagenx serve`` (sandboxed, as deployed), driven
by the same folder watcher that ``metagenx watch --server`` runs: until the file's
finished ``row`` event arrives on the watch's SSE stream; the ratios to the local watch
measured in the same run are printed.

    python bench/watch_latency.py                     # 8 files, 60 generations per fit
    python bench/watch_latency.py --quick --server    # 3 files, 10 generations, local and server
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import examples_dir
from metagenx.engine.settings import FitSettings
from metagenx.events import Event
from metagenx.store import JobFilter, JobState, list_jobs
from metagenx.watch.session import WatchConfig, WatchSession


@dataclass
class Measurement:
    """Per file name: seconds from closing the file to its result, and the fit's own wall time."""

    latency: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)
    acknowledged: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def overhead(self) -> list[float]:
        return [self.latency[n] - self.wall[n] for n in self.latency if n in self.wall]


def data_file(template: Path, index: int) -> bytes:
    model = GenxModel.load(template)
    model.simulate()
    data = model.model.data[0]
    rng = np.random.default_rng(index)
    y = np.asarray(data.y_sim) * (1 + 0.02 * rng.standard_normal(len(data.x)))
    rows = np.column_stack([data.x, y, 0.02 * np.abs(y)])
    return ("\n".join(" ".join(f"{v:.10g}" for v in row) for row in rows) + "\n").encode()


def watch_config(template: Path, folder: Path, generations: int) -> WatchConfig:
    return WatchConfig(
        template=template,
        folder=folder,
        pattern="*.dat",
        settings=FitSettings(seed=1, max_generations=generations),
        loader_options={"commands": "loader"},
    )


def measure_local(template: Path, payloads: list[bytes], generations: int) -> Measurement:
    """A local watch: file closed -> result recorded in its job store."""
    found = Measurement()
    with tempfile.TemporaryDirectory() as tmp:
        incoming, out = Path(tmp) / "incoming", Path(tmp) / "out"
        incoming.mkdir()
        session = WatchSession(watch_config(template, incoming, generations), out, workers=2)
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
            found.wall = {str(j.label): fit_seconds(j.result) for j in jobs if j.result}
            stored = {str(j.label): recorded[j.id] for j in jobs if j.id in recorded}
            found.failed = [str(j.label) for j in jobs if j.state is JobState.FAILED]
        stop.set()
        thread.join(60)
    found.latency = {name: stored[name] - completed[name] for name in completed if name in stored}
    return found


def fit_seconds(result: dict[str, Any]) -> float:
    """The fit's own time, s: the runner's time in ``run_fit`` (initial FOM, DE, final FOM and curves),
    as the runner reports it; the DE loop's wall time for results without it."""
    timings = (result.get("extra") or {}).get("timings") or {}
    return float(timings.get("fit", result["wall_time"]))


def on_event(event: Event, recorded: dict[int, float]) -> None:
    """Listener on the controller thread: called after the result is recorded in the store."""
    if event.type in ("result", "error"):
        recorded[event.job_id] = time.perf_counter()


def measure_server(template: Path, payloads: list[bytes], generations: int) -> Measurement:
    """A watch on ``metagenx serve``: file closed -> finished ``row`` event on the watch's SSE stream."""
    from metagenx.client import ApiClient, ClientConfig
    from metagenx.watch.remote import RemoteWatch

    found = Measurement()
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "server") as (url, token):
        incoming = Path(tmp) / "incoming"
        incoming.mkdir()
        client, listener = ApiClient(ClientConfig(url, token)), ApiClient(ClientConfig(url, token))
        pushed = client.push_file

        def push_file(watch_id: int, path: Path, order_value: float | None = None) -> dict[str, Any]:
            answer = pushed(watch_id, path, order_value)
            found.acknowledged[path.name] = time.perf_counter()
            return answer

        client.push_file = push_file  # type: ignore[method-assign]
        remote = RemoteWatch(watch_config(template, incoming, generations), client, "bench")
        watch_id = remote.open()
        arrived: dict[str, float] = {}
        threading.Thread(target=follow, args=(listener, watch_id, arrived), daemon=True).start()
        stop = threading.Event()
        pusher = threading.Thread(target=remote.run, args=(stop,), daemon=True)
        pusher.start()
        (incoming / "warmup.dat").write_bytes(data_file(template, 99))  # the server's runners start
        wait_until(lambda: "warmup.dat" in arrived, timeout=300)
        completed: dict[str, float] = {}
        for index, payload in enumerate(payloads):
            name = f"scan{index:03d}.dat"
            (incoming / name).write_bytes(payload)
            completed[name] = time.perf_counter()
            wait_until(lambda name=name: name in arrived, timeout=300)
        stop.set()
        pusher.join(60)
        for row in client.watch(watch_id)["rows"]:
            if row["label"] in completed:
                result = client.job(row["job_id"])["result"]
                if result is not None:
                    found.wall[row["label"]] = fit_seconds(result)
                if row["state"] == "failed":
                    found.failed.append(row["label"])
        found.acknowledged = {n: t - completed[n] for n, t in found.acknowledged.items() if n in completed}
        client.close()
    found.latency = {name: arrived[name] - completed[name] for name in completed if name in arrived}
    return found


def follow(client: Any, watch_id: int, arrived: dict[str, float]) -> None:
    """Note when each file's finished row arrives on the watch's event stream."""
    for kind, data in client.events(f"/api/v1/watches/{watch_id}/events"):
        if kind == "row" and data.get("finished"):
            arrived.setdefault(str(data["label"]), time.perf_counter())


@contextmanager
def serve(data: Path) -> Iterator[tuple[str, str]]:
    """``metagenx serve`` (2 workers, sandboxed) on a free port; yields its URL and a user's token."""
    import httpx

    from metagenx.store import add_user, create_token, open_store

    with open_store(None, data) as store, store.session() as session:
        add_user(session, "bench")
        token = create_token(session, "bench")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, "-m", "metagenx", "serve", "--port", str(port), "--data-dir", str(data)]
    log = (data / "serve.log").open("w")
    process = subprocess.Popen([*command, "--workers", "2"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{(data / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield url, token
    finally:
        process.terminate()
        process.wait(60)
        log.close()


def report(title: str, found: Measurement, generations: int) -> None:
    overhead = found.overhead
    median = statistics.median
    print(f"{title}: {len(found.latency)} X-ray_Reflectivity data files, {generations} generations per fit")
    print(f"  failed: {found.failed or 'none'}")
    print(f"  median latency file closed -> result:     {median(found.latency.values()):.2f} s")
    if found.acknowledged:
        print(f"  median file closed -> push acknowledged:  {median(found.acknowledged.values()):.2f} s")
    print(f"  median fit wall time:                     {median(found.wall.values()):.2f} s")
    print(f"  median pipeline overhead (latency - fit): {median(overhead):.2f} s (max {max(overhead):.2f} s)")


def wait_until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("no result within the timeout")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--server", action="store_true", help="also measure a watch on a local metagenx serve"
    )
    args = parser.parse_args()
    if args.quick:
        args.files, args.generations = 3, 10
    template = Path(examples_dir()) / "X-ray_Reflectivity.hgx"
    payloads = [data_file(template, i) for i in range(args.files)]
    local = measure_local(template, payloads, args.generations)
    report("local watch (result in the job store)", local, args.generations)
    if not args.server:
        return
    remote = measure_server(template, payloads, args.generations)
    report("server watch (finished row on the SSE stream)", remote, args.generations)
    ratio = statistics.median(remote.latency.values()) / statistics.median(local.latency.values())
    extra = statistics.median(remote.overhead) - statistics.median(local.overhead)
    print(f"server / local median latency: {ratio:.2f}x; extra overhead on the server: {extra:+.2f} s")


if __name__ == "__main__":
    main()
