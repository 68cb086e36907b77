"""The controller is the source of truth: a lost scheduler, a fallback to local processes, a controller
killed mid-study. Each test runs its own scheduler where it kills one."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metagenx.controller import Controller
from metagenx.executors.dask import DaskExecutor
from metagenx.executors.dask_local import LocalDaskCluster
from metagenx.jobs import JobSpec
from metagenx.store import Store
from tests.dask.conftest import (
    LONG,
    Recorder,
    by_label,
    free_port,
    gone,
    jobs_of,
    run_study,
    seeds_study,
    submit,
)


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[list[LocalDaskCluster]]:
    """Clusters a test starts; all stopped at its end."""
    started: list[LocalDaskCluster] = []
    yield started
    for cluster in started:
        cluster.close()


def start_cluster(clusters: list[LocalDaskCluster], port: int, directory: Path) -> LocalDaskCluster:
    cluster = LocalDaskCluster(1, port=port, directory=directory)
    clusters.append(cluster)
    cluster.start()
    return cluster


def kill_scheduler(cluster: LocalDaskCluster) -> None:
    assert cluster.scheduler is not None
    cluster.scheduler.send_signal(signal.SIGKILL)
    cluster.scheduler.wait()


def first_quick_then_slow(model: Path) -> list[JobSpec]:
    """Three fits: a quick one whose result loses the scheduler, then two that are surely still
    running or queued when it goes (a few seconds each)."""
    slow = {"max_generations": 150, "population": 10, "tolerance": 0.0, "min_spread": 0.0}
    return seeds_study(model, range(1, 2)) + seeds_study(model, range(2, 4), **slow)


def test_a_lost_scheduler_requeues_running_fits_uncharged_and_they_resume_on_the_next(
    clusters: list[LocalDaskCluster], store: Store, superadam: Path, tmp_path: Path
) -> None:
    port = free_port()
    first = start_cluster(clusters, port, tmp_path / "first")
    study = submit(store, first_quick_then_slow(superadam), tmp_path)
    restarted = threading.Event()

    def replace_the_scheduler() -> None:
        kill_scheduler(first)
        start_cluster(clusters, port, tmp_path / "second")
        restarted.set()

    def lose_the_scheduler_after_the_first_result(event: dict[str, Any]) -> None:
        if event.type == "result" and len(recorder.of("result")) == 1:
            threading.Thread(target=replace_the_scheduler, daemon=True).start()

    recorder = Recorder()
    controller = Controller(store, DaskExecutor(first.address))
    controller.listeners += [recorder, lose_the_scheduler_after_the_first_result]
    summary = run_study(controller, study)
    assert restarted.is_set()
    assert summary.counts["succeeded"] == 3
    assert recorder.results_per_job() == {j.id: 1 for j in jobs_of(store, study)}, (
        "exactly one result per job"
    )
    dropped = recorder.of("dropped")
    assert dropped and all("lost the Dask scheduler" in e.reason for e in dropped)
    assert all(j.attempts <= 1 for j in jobs_of(store, study)), "losing the scheduler is not the job's fault"


def test_with_fallback_local_a_lost_scheduler_leaves_the_rest_to_local_processes(
    clusters: list[LocalDaskCluster], store: Store, superadam: Path, tmp_path: Path
) -> None:
    cluster = start_cluster(clusters, 0, tmp_path / "cluster")
    study = submit(store, seeds_study(superadam, range(1, 4)), tmp_path)

    def lose_the_scheduler_after_the_first_result(event: dict[str, Any]) -> None:
        if event.type == "result" and len(recorder.of("result")) == 1:
            threading.Thread(target=kill_scheduler, args=(cluster,), daemon=True).start()

    recorder = Recorder()
    executor = DaskExecutor(cluster.address, fallback_local=True, fallback_workers=1)
    controller = Controller(store, executor)
    controller.listeners += [recorder, lose_the_scheduler_after_the_first_result]
    summary = run_study(controller, study)
    assert summary.counts["succeeded"] == 3 and executor.local is not None
    assert any(e.worker is None for e in recorder.of("started")), "some fits ran on local processes"
    assert recorder.results_per_job() == {j.id: 1 for j in jobs_of(store, study)}
    assert all(j.attempts <= 1 for j in jobs_of(store, study))


CONTROLLER = """
import json, sys
from dataclasses import asdict
from metagenx.controller import Controller
from metagenx.executors.dask import DaskExecutor
from metagenx.store import open_store

url, folder, scheduler, study, log = sys.argv[1:]
controller = Controller(open_store(url, folder), DaskExecutor(scheduler))
with open(log, "a") as out:
    write = lambda e: (out.write(json.dumps(asdict(e), default=str) + "\\n"), out.flush())
    controller.listeners.append(write)
    controller.run(int(study))
"""


def test_a_controller_killed_mid_study_is_resumed_and_its_orphaned_fits_are_killed(
    scheduler: str, store: Store, superadam: Path, tmp_path: Path
) -> None:
    medium = {**LONG, "max_generations": 20}
    specs = [
        *seeds_study(superadam, range(1, 3)),
        JobSpec("long-1", str(superadam), {"seed": 11, **medium}),
        JobSpec("long-2", str(superadam), {"seed": 12, **medium}),
    ]
    study = submit(store, specs, tmp_path)
    log = tmp_path / "events.jsonl"
    url = f"sqlite:///{tmp_path / 'metagenx.db'}"
    command = [sys.executable, "-c", CONTROLLER, url, str(tmp_path), scheduler, str(study), str(log)]
    last = by_label(store, study, "long-2").id
    process = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(e["job_id"] == last for e in read(log, "progress")):
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    finished = {e["job_id"] for e in read(log, "result")}
    orphans = {e["job_id"]: e["pid"] for e in read(log, "started") if e["job_id"] not in finished}
    assert last in orphans, "the controller died with fits running"
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in orphans.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(gone(pid) for pid in orphans.values()), "Dask cancelled a dead controller's tasks and runners"

    controller = Controller(store, DaskExecutor(scheduler))
    assert controller.recover() >= 1
    summary = run_study(controller, study)
    assert summary.counts["succeeded"] == 4
    for job in jobs_of(store, study):
        assert job.attempts <= 1 and job.interruptions == (1 if job.id in orphans else 0)
        assert job.runs == (2 if job.id in orphans else 1), "finished jobs were not run again"


def read(log: Path, kind: str) -> list[dict[str, Any]]:
    """Events of ``kind`` the controller process wrote to ``log`` (a JSON object per line)."""
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    return [event for line in lines if line.endswith("}") and (event := json.loads(line))["type"] == kind]
