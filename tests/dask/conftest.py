"""A real Dask cluster for the tests: `dask scheduler` and two `dask worker` processes (1 thread each) on
loopback, started once for tests/dask; helpers to run studies on it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metagenx.controller import Controller, RunSummary
from metagenx.events import Event
from metagenx.executors.dask_connect import open_client
from metagenx.executors.dask_local import LocalDaskCluster
from metagenx.jobs import JobSpec
from metagenx.store import Job, JobFilter, Store, StudyKind, list_jobs, open_store
from metagenx.study.submit import submit_study
from tests.sandbox.conftest import policy  # noqa: F401  (fixture of the sandboxed-worker tests)
from tests.server.conftest import start_api  # noqa: F401  (fixture of the server-on-Dask tests)

FAST = {"max_generations": 3, "population": 6}
"""Settings of a quick fit: 3 generations of 6 individuals (the outputs are still written)."""

LONG = {"max_generations": 40, "population": 10, "tolerance": 0.0, "min_spread": 0.0}
"""Settings of a fit long enough to be interrupted (several seconds)."""


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDaskCluster]:
    """One scheduler and two workers (with nannies, which restart a killed worker) for these tests."""
    started = LocalDaskCluster(2, directory=tmp_path_factory.mktemp("dask-cluster"))
    try:
        started.start()
        yield started
    finally:
        started.close()


@pytest.fixture
def scheduler(cluster: LocalDaskCluster) -> str:
    """The session cluster's address, once both workers are up (a test may have killed one)."""
    cluster.wait_for_workers(2, timeout=60.0)
    return cluster.address


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'metagenx.db'}", tmp_path)
    yield opened
    opened.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seeds_study(model: Path, seeds: range, **settings: Any) -> list[JobSpec]:
    return [
        JobSpec(
            label=f"seed={s}",
            model_path=str(model),
            settings={"seed": s, **FAST, **settings},
            axes={"seed": s},
        )
        for s in seeds
    ]


def submit(store: Store, specs: list[JobSpec], directory: Path, name: str = "study") -> int:
    return submit_study(store, project="p", name=name, kind=StudyKind.STUDY, specs=specs, directory=directory)


def jobs_of(store: Store, study: int) -> list[Job]:
    with store.session() as session:
        return list_jobs(session, JobFilter(study_id=study), limit=1000)


def by_label(store: Store, study: int, label: str) -> Job:
    return next(j for j in jobs_of(store, study) if j.label == label)


class Recorder:
    """Listener that keeps every event the controller saw."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str, job_id: int | None = None) -> list[Any]:
        return [e for e in self.events if e.type == kind and (job_id is None or e.job_id == job_id)]

    def results_per_job(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for event in self.of("result"):
            counts[event.job_id] = counts.get(event.job_id, 0) + 1
        return counts


def run_study(controller: Controller, study: int, recorder: Recorder | None = None) -> RunSummary:
    if recorder is not None:
        controller.listeners.append(recorder)
    try:
        return controller.run(study)
    finally:
        controller.close()


def worker_pids(address: str) -> dict[str, int]:
    """Process id of every worker of the scheduler at ``address`` (not of their nannies)."""
    client = open_client(address, timeout=5.0)
    try:
        return {worker: int(pid) for worker, pid in client.run(os.getpid).items()}
    finally:
        client.close()


def gone(pid: int) -> bool:
    """True when process ``pid`` has ended (or is a zombie waiting for its reaper)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
