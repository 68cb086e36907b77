"""Storage faults on a real server: a full disk under its data folder, and a damaged job database.

The disk is a small tmpfs mounted for the server alone (``unshare -m``, as root like CI); the test
fills and empties it from inside the server's mount namespace (``nsenter``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metagenx.store import open_store
from tests.server.conftest import LONG
from tests.server.test_e2e import free_port
from tests.store.conftest import pg_schema

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("nsenter") is None,
    reason="mounting a small disk for the server needs root, unshare and nsenter (CI has them)",
)

FIT = LONG | {"max_generations": 60, "max_time": None}
"""A fit of a few seconds (the disk fills while it runs)."""


class ServerOnSmallDisk:
    """``metagenx serve`` whose data folder is a tmpfs of ``size`` that only it (and the test) sees."""

    def __init__(self, root: Path, db: str | None = None, size: str = "64m") -> None:
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        token_file = root / "token"
        python = sys.executable
        where = f"--data-dir {self.data}" + (f" --db '{db}'" if db else "")
        script = (
            f"mount -t tmpfs -o size={size} tmpfs {self.data} && "
            f"{python} -m metagenx user add alice {where} >/dev/null && "
            f"{python} -m metagenx token create alice {where} | tail -1 > {token_file} && "
            f"exec {python} -m metagenx serve --port {self.port} {where} --workers 1"
        )
        self.log = root / "serve.log"
        self.process = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while not self.healthy():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        self.headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def inside(self, *command: str) -> None:
        """Run ``command`` in the server's mount namespace (where its small disk is)."""
        subprocess.run(["nsenter", f"--mount=/proc/{self.process.pid}/ns/mnt", "--", *command], check=True)

    def fill(self) -> None:
        """Take every free byte of the small disk."""
        free = shutil.disk_usage(f"/proc/{self.process.pid}/root{self.data}").free
        self.inside("fallocate", "-l", str(max(free, 4096)), str(self.data / "filler"))

    def empty(self) -> None:
        self.inside("rm", "-f", str(self.data / "filler"))

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.url}{path}", headers=self.headers, timeout=30)

    def job(self, job_id: int) -> dict[str, Any]:
        answer = self.get(f"/api/v1/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(params=["sqlite", "postgresql"])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerOnSmallDisk]:
    """The server on its small disk; its job store on that disk (SQLite) or on PostgreSQL."""
    if request.param == "sqlite":
        server = ServerOnSmallDisk(tmp_path)
        yield server
        server.stop()
        return
    with pg_schema(request.getfixturevalue("pg_server_url")) as url:
        server = ServerOnSmallDisk(tmp_path, url)
        yield server
        server.stop()


def wait_for(check: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)
    return found


def test_a_full_disk_pauses_the_server_and_it_resumes_when_space_returns(
    small_disk: ServerOnSmallDisk, superadam: Path
) -> None:
    server = small_disk
    files = {"model": (superadam.name, superadam.read_bytes())}
    submitted = httpx.post(
        f"{server.url}/api/v1/jobs",
        headers=server.headers,
        files=files,
        data={"settings": json.dumps(FIT | {"seed": 1})},
        timeout=60,
    )
    assert submitted.status_code == 201, submitted.text
    job_id = int(submitted.json()["id"])
    wait_for(lambda: server.job(job_id)["state"] == "running", "the fit started")
    server.fill()
    health = wait_for(
        lambda: (
            (answer := httpx.get(f"{server.url}/healthz", timeout=10)).status_code == 503 and answer.json()
        ),
        "health reports the full disk",
    )
    assert "the disk is full" in health["storage"], health
    assert server.get("/api/v1/jobs").status_code == 200, "reads go on while the disk is full"
    time.sleep(2.0)
    assert server.job(job_id)["state"] in ("running", "queued"), "a full disk fails no job"
    server.empty()
    done = wait_for(
        lambda: (job := server.job(job_id))["state"] in ("succeeded", "failed") and job, "the fit"
    )
    assert done["state"] == "succeeded", done
    assert done["result"]["complete"] is True
    assert {a["kind"] for a in done["artifacts"]} >= {"model", "result_json"}
    wait_for(server.healthy, "health is ok again, without a restart")


def damage(database: Path) -> None:
    """Overwrite pages in the middle of a SQLite file (its header stays intact)."""
    size = database.stat().st_size
    with database.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(os.urandom(min(16384, size // 4)))


def test_a_damaged_database_is_named_by_every_check(tmp_path: Path, superadam: Path) -> None:
    from metagenx.jobs import JobSpec
    from metagenx.store import Job, NewJob, StudyKind, add_jobs, ensure_project, ensure_study
    from metagenx.store.errors import StoreError

    folder = tmp_path / "data"
    with open_store(None, folder) as store, store.session() as session:
        study = ensure_study(session, ensure_project(session, "p"), "s", StudyKind.STUDY)
        specs = [
            NewJob(JobSpec(label=f"seed={s}", model_path=str(superadam), settings={"seed": s}), "0" * 64)
            for s in range(400)
        ]
        add_jobs(session, study, specs)
        assert session.query(Job).count() == 400
    backup = tmp_path / "backup.db"
    made = subprocess.run(
        [sys.executable, "-m", "metagenx", "db", "backup", str(backup), "--data-dir", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    damage(folder / "metagenx.db")
    checked = subprocess.run(
        [sys.executable, "-m", "metagenx", "db", "check", "--data-dir", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 1 and "damaged" in checked.stderr, checked.stderr
    with pytest.raises(StoreError, match="damaged"):
        open_store(None, folder)
    restored = subprocess.run(
        [sys.executable, "-m", "metagenx", "db", "check", str(backup)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert restored.returncode == 0 and "sound" in restored.stdout, restored.stderr
