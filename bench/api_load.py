"""Benchmark: the HTTP API under read load, idle and while fits run.

Starts ``metagenx serve`` on the loopback interface with a store of 200 finished jobs
(a real X-ray_Reflectivity result each), then runs 50 concurrent clients (asyncio, one
keep-alive HTTP/1.1 connection each) for 20 s: 3 of 4 requests read one job's status
(``GET /api/v1/jobs/{id}``), 1 of 4 a page of the job list (``GET /api/v1/jobs?limit=20``).
The same load runs again while 2 fits run on the server's 2 workers, and then a load that
reads only the status of those running jobs (their progress changes as they run). Prints requests/s
and p50/p95/p99 latency per phase, the server process's CPU time per request (what the
server costs, whatever else the machine runs), and the ratio to a baseline measured in
the same run: ``/healthz`` (no token, one trivial query) under the same 50 clients.
The server runs with ``METAGENX_LOG_LEVEL=warning`` (no access log line per request).
Finished jobs and list pages of finished jobs are served from the server's memory after
their first read (see :mod:`metagenx.server.finished_jobs`), so these figures are the steady
state of a store of finished jobs; a running job's status is kept until its next event
(a progress report, at most about two a second).

    python bench/api_load.py                    # 20 s per phase, 50 clients, 200 jobs
    python bench/api_load.py --duration 5       # quicker look

Loopback only; each phase is bounded by its duration and by --max-requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import examples_dir
from metagenx.engine.settings import FitSettings
from metagenx.jobs import JobSpec
from metagenx.store import (
    NewJob,
    StudyKind,
    add_jobs,
    add_user,
    claim_next,
    create_token,
    ensure_project,
    ensure_study,
    finish,
    open_store,
)

HOST = "127.0.0.1"
LONG_FIT = {"max_generations": 100_000, "max_time": 300.0, "tolerance": 0.0, "min_spread": 0.0}


@dataclass
class Phase:
    """Latencies (s) of one load phase."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    """CPU seconds the server process used during the phase (fit runners are processes of their own)."""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000 if len(self.latencies) > 1 else 0.0

    def line(self, baseline: Phase | None) -> str:
        ratio = f"  ({self.rate / baseline.rate:.2f}× the baseline's rate)" if baseline else ""
        cpu = 1000 * self.server_cpu / max(len(self.latencies), 1)
        return (
            f"{self.name:<34} {self.rate:7.0f} req/s  p50 {self.percentile(50):6.1f} ms  "
            f"p95 {self.percentile(95):6.1f} ms  p99 {self.percentile(99):6.1f} ms  errors {self.errors}  "
            f"server CPU {cpu:.2f} ms/request{ratio}"
        )


def fill_store(data: Path, jobs: int) -> str:
    """A store with user ``bench``, ``jobs`` finished fits of X-ray_Reflectivity; returns the token."""
    model = Path(examples_dir()) / "X-ray_Reflectivity.hgx"
    result = run_fit(GenxModel.load(model), FitSettings(seed=1, max_generations=3))
    with open_store(None, data) as store:
        with store.session() as session:
            add_user(session, "bench")
            token = create_token(session, "bench")
            project = ensure_project(session, "load", "bench")
            study = ensure_study(session, project, "finished", StudyKind.BATCH)
            specs = [
                NewJob(JobSpec(label=f"seed={i}", model_path=str(model), settings={"seed": i}), "0" * 64)
                for i in range(jobs)
            ]
            add_jobs(session, study, specs)
        for _ in range(jobs):
            with store.session() as session:
                job = claim_next(session, None, "bench")
                assert job is not None
                finish(session, job, result)
    return token


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` so far, from /proc (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(data: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "metagenx", "serve", "--host", HOST, "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--data-dir", str(data), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"METAGENX_LOG_LEVEL": "warning"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


class Connection:
    """A minimal HTTP/1.1 keep-alive client on one connection: a few µs of CPU per request, so the
    load generator leaves the cores to the server (httpx costs about as much as the server does)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: str) -> None:
        self.reader, self.writer, self.headers = reader, writer, headers

    @classmethod
    async def open(cls, port: int, token: str | None) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        return cls(reader, writer, f"Host: {HOST}:{port}\r\n{auth}Connection: keep-alive\r\n\r\n")

    async def get(self, path: str) -> int:
        """GET ``path``; returns the status after reading the whole body."""
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.headers}".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


Paths = Callable[[random.Random], str]
"""Picks the path of each request."""


def mixed_reads(rng: random.Random) -> str:
    """3 of 4 requests read a finished job's status, 1 of 4 a page of the job list."""
    if rng.random() < 0.75:
        return f"/api/v1/jobs/{rng.randint(1, 200)}"
    return f"/api/v1/jobs?limit=20&offset={rng.randint(0, 180)}"


def running_reads(ids: list[int]) -> Paths:
    """Every request reads the status of one of the running jobs ``ids``."""
    return lambda rng: f"/api/v1/jobs/{rng.choice(ids)}"


async def load(
    port: int,
    token: str | None,
    clients: int,
    seconds: float,
    limit: int,
    name: str,
    paths: Paths = mixed_reads,
) -> Phase:
    """``clients`` concurrent clients for ``seconds``, each request's path from ``paths``;
    without a token, ``/healthz``."""
    phase = Phase(name)
    deadline = time.monotonic() + seconds

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        connection = await Connection.open(port, token)
        try:
            while time.monotonic() < deadline and len(phase.latencies) < limit:
                path = "/healthz" if token is None else paths(rng)
                started = time.perf_counter()
                if await connection.get(path) == 200:
                    phase.latencies.append(time.perf_counter() - started)
                else:
                    phase.errors += 1
        finally:
            connection.close()

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    phase.seconds = time.monotonic() - started
    return phase


def submit_long_fits(url: str, token: str, count: int) -> list[int]:
    """Submit ``count`` long fits and wait until they run; returns their ids."""
    model = Path(examples_dir()) / "X-ray_Reflectivity.hgx"
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    for seed in range(count):
        files = {"model": (model.name, model.read_bytes())}
        data = {"settings": json.dumps(LONG_FIT | {"seed": seed})}
        ids.append(httpx.post(f"{url}/api/v1/jobs", headers=headers, files=files, data=data).json()["id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = [httpx.get(f"{url}/api/v1/jobs/{i}", headers=headers).json()["state"] for i in ids]
        if all(s == "running" for s in states):
            time.sleep(2.0)  # past the runners' start-up: the fits themselves are running
            return ids
        time.sleep(0.5)
    raise SystemExit("the fits did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=200, help="finished jobs in the store")
    parser.add_argument("--max-requests", type=int, default=200_000, help="cap per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="metagenx-bench-") as folder:
        data = Path(folder) / "data"
        token = fill_store(data, args.jobs)
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        url = f"http://{HOST}:{port}"
        server = start_server(data, port)
        try:

            def run(token: str | None, name: str, paths: Paths = mixed_reads) -> Phase:
                before = cpu_seconds(server.pid)
                phase = asyncio.run(
                    load(port, token, args.clients, args.duration, args.max_requests, name, paths)
                )
                phase.server_cpu = cpu_seconds(server.pid) - before
                return phase

            print(f"{args.clients} clients, {args.duration:g} s per phase, {args.jobs} finished jobs stored")
            baseline = run(None, "baseline: /healthz, idle")
            print(baseline.line(None))
            idle = run(token, "job status + lists, idle")
            print(idle.line(baseline))
            fits = submit_long_fits(url, token, 2)
            busy = run(token, "job status + lists, 2 fits running")
            print(busy.line(baseline))
            running = run(token, "status of the running jobs, 2 fits running", running_reads(fits))
            print(running.line(baseline))
            for job_id in fits:
                httpx.post(f"{url}/api/v1/jobs/{job_id}/cancel", headers={"Authorization": f"Bearer {token}"})
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
