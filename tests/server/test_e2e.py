"""``metagenx serve`` as a real process, driven by the client CLI: submit, follow, download, stop, kill -9."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metagenx.client import ApiClient, ClientConfig
from metagenx.engine.model import GenxModel
from metagenx.outputs.collect import FIT_OUTPUTS, POSTERIOR_OUTPUTS
from metagenx.store import EventKind, Job, events_after, open_store
from tests.server.conftest import LONG, make_accounts

METAGENX = [sys.executable, "-m", "metagenx"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """``metagenx serve`` on a free port of the loopback interface."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data.parent / f"serve-{self.port}.log"
        self.process = subprocess.Popen(
            [*METAGENX, "serve", "--port", str(self.port), "--data-dir", str(data), "--workers", "1"],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def token(data: Path) -> str:
    """alice's token, made with the account commands on the server's data directory."""
    cli("user", "add", "alice", "--data-dir", str(data))
    lines = cli("token", "create", "alice", "--data-dir", str(data)).stdout.splitlines()
    assert re.fullmatch(r"mgx_[0-9a-f]{12}_\S+", lines[-1])
    return lines[-1]


@pytest.fixture
def servers(data: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"METAGENX_CLIENT_CONFIG": "/nonexistent/client.toml"} | (env or {})
    done = subprocess.run([*METAGENX, *args], capture_output=True, text=True, timeout=300, env=environment)
    assert done.returncode == 0, f"metagenx {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def follow(client: ApiClient, job_id: int, until: str = "end") -> dict[str, object]:
    """Read the job's events until one of kind ``until`` (``progress``: past generation 1)."""
    for kind, event in client.events(f"/api/v1/jobs/{job_id}/events"):
        if kind == until and (kind != "progress" or int(event.get("generation") or 0) >= 2):
            return event
    raise AssertionError(f"job {job_id} ended before a {until} event")


def stored_job(data: Path, job_id: int) -> Job:
    with open_store(None, data) as store, store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_serve_submit_follow_download_and_stop(
    data: Path, token: str, servers: list[Server], xray: Path
) -> None:
    servers.append(server := Server(data))
    env = {"METAGENX_SERVER": server.url, "METAGENX_TOKEN": token}
    submitted = cli("submit", str(xray), "--max-generations", "3", "--seed", "1", env=env)
    job_id = int(submitted.stdout.splitlines()[-1].removeprefix("job "))

    with ApiClient(ClientConfig(server.url, token)) as client:
        end = follow(client, job_id)
        assert end["state"] == "succeeded"
        followed = cli("status", str(job_id), "--follow", env=env)
        assert "succeeded" in followed.stdout
        cli("results", str(job_id), "--download", str(data.parent / "download"), env=env)
        fitted = data.parent / "download" / xray.name
        assert GenxModel.load(fitted).simulate() == end["fom"] == client.job(job_id)["fom"]

        again = client.submit_model(xray, {"max_generations": 3, "seed": 1}, "default")
        assert again["id"] == job_id and again["created"] is False
        running = client.submit_model(xray, LONG, "default")["id"]
        follow(client, running, "progress")
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    assert "Application shutdown complete" in server.log.read_text()
    interrupted = stored_job(data, running)
    assert (interrupted.state.value, interrupted.attempts, interrupted.interruptions) == ("queued", 0, 1)


def test_kill_9_mid_fit_then_restart_finishes_it(data: Path, servers: list[Server], xray: Path) -> None:
    token = make_accounts(data)["alice"]
    servers.append(first := Server(data))
    with ApiClient(ClientConfig(first.url, token)) as client:
        quick = client.submit_model(xray, {"max_generations": 3, "seed": 1}, "default")
        finished = follow(client, quick["id"])
        long = client.submit_model(xray, {"max_generations": 30, "seed": 2, "tolerance": 0.0}, "default")
        follow(client, long["id"], "progress")
    first.stop(signal.SIGKILL)
    with open_store(None, data) as store, store.session() as session:
        logs = [e.data or {} for e in events_after(session, long["id"]) if e.kind == EventKind.LOG]
    runner = int(str(logs[-1]["message"]).split()[2])
    deadline = time.monotonic() + 30
    while pid_alive(runner):
        assert time.monotonic() < deadline, "the orphaned runner kept running"
        time.sleep(0.2)
    assert stored_job(data, long["id"]).state.value == "running"

    servers.append(second := Server(data))
    with ApiClient(ClientConfig(second.url, token)) as client:
        end = follow(client, long["id"])
        assert end["state"] == "succeeded"
        job = client.job(long["id"])
        assert job["runs"] == 2 and job["interruptions"] == 1 and job["attempts"] == 1
        assert job["result"]["generations"] == 30
        kept = client.job(quick["id"])
        every_file = len(FIT_OUTPUTS) - len(POSTERIOR_OUTPUTS)  # the model and each output but solve.json
        assert kept["state"] == "succeeded" and kept["fom"] == finished["fom"]
        assert len(kept["artifacts"]) == every_file, kept["artifacts"]
        assert client.jobs()["total"] == 2


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waits for its reaper: it runs nothing
        return stat.read().split()[2] != "Z"
