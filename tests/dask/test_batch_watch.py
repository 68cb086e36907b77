"""SlurmWatch's decisions, one ``poll`` at a time: what it says about a job Slurm ended, when it replaces one,
and what it leaves alone. The cluster is a stand-in with dask-jobqueue's attributes (``workers``,
``worker_spec``, ``loop``, ``scale``); tests/slurm runs the watch on a real Slurm."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from metagenx.executors.batch_watch import LostFits, SlurmWatch, job_of


@dataclass
class Loop:
    def add_callback(self, function: Any, *arguments: Any) -> None:
        function(*arguments)


@dataclass
class Cluster:
    """dask-jobqueue's view of its jobs: name → job (with ``job_id``) and name → spec."""

    workers: dict[str, Any] = field(default_factory=dict)
    worker_spec: dict[str, Any] = field(default_factory=dict)
    loop: Loop = field(default_factory=Loop)
    scaled: list[int] = field(default_factory=list)

    def submit(self, name: str, job_id: str) -> None:
        self.workers[name] = SimpleNamespace(job_id=job_id)
        self.worker_spec[name] = {}

    def scale(self, jobs: int) -> None:
        self.scaled.append(jobs)


def join(lost: LostFits, address: str, name: str) -> None:
    lost.add_worker(SimpleNamespace(workers={address: SimpleNamespace(name=name)}), address)


def leave(lost: LostFits, address: str, *keys: str) -> None:
    message = {"action": "remove-worker", "worker": address, "processing-tasks": set(keys), "expected": False}
    lost.log_event("all", message)


def watch_of(
    cluster: Cluster, lost: LostFits, states: dict[str, str], jobs: int | None = 2
) -> tuple[SlurmWatch, list[str]]:
    """A watch of ``cluster`` to which Slurm answers ``states`` (as they are at each poll); what it says."""
    said: list[str] = []
    return SlurmWatch(cluster, lost, said.append, jobs=jobs, states=lambda ids: dict(states)), said


def test_a_cancelled_job_is_reported_with_its_lost_fits_once_its_workers_left_and_replaced() -> None:
    cluster, lost = Cluster(), LostFits()
    cluster.submit("w-0", "12")
    cluster.submit("w-1", "13")
    join(lost, "tcp://a:1", "w-0")
    join(lost, "tcp://b:1", "w-1")
    states = {"12": "RUNNING", "13": "RUNNING"}
    watch, said = watch_of(cluster, lost, states)
    watch.poll()
    assert said == ["worker job 12 submitted to Slurm", "worker job 13 submitted to Slurm"]
    states["12"] = "CANCELLED"
    watch.poll()
    assert len(said) == 2, "not before its worker left (its lost fits are not counted yet)"
    leave(lost, "tcp://a:1", "metagenx-fit-4-1-abc", "metagenx-fit-5-2-abc", "other-task")
    watch.poll()
    assert said[-1] == (
        "worker job 12 was cancelled by Slurm (scancel, or an administrator);"
        " 2 fits on it are re-queued; a replacement is submitted"
    )
    assert "w-0" not in cluster.workers and "w-0" not in cluster.worker_spec and cluster.scaled == [2]
    watch.poll()
    assert len(said) == 3, "said once"


def test_a_job_at_its_walltime_in_an_adaptive_cluster_is_left_to_adaptive_scaling() -> None:
    cluster, lost = Cluster(), LostFits()
    cluster.submit("w-0", "7")
    join(lost, "tcp://a:1", "w-0")
    leave(lost, "tcp://a:1", "metagenx-fit-1-1-abc")
    watch, said = watch_of(cluster, lost, {"7": "TIMEOUT"}, jobs=None)
    watch.poll()
    assert said[-1] == (
        "worker job 7 reached its walltime; 1 fit on it is re-queued;"
        " adaptive scaling submits jobs as work needs"
    )
    assert cluster.scaled == [] and not cluster.worker_spec


def test_a_job_the_cluster_retired_itself_is_not_news_and_a_job_that_never_joined_is_not_replaced() -> None:
    cluster, lost = Cluster(), LostFits()
    cluster.submit("w-0", "1")
    cluster.submit("w-1", "2")
    states = {"1": "RUNNING", "2": "PENDING"}
    watch, said = watch_of(cluster, lost, states)
    watch.poll()
    del cluster.worker_spec["w-0"]  # adaptive scaling retires it, then cancels it
    states.update({"1": "CANCELLED", "2": "FAILED"})
    watch.poll()
    assert said[2:] == [
        "worker job 2 failed before its workers joined; not replaced (see the job's Slurm output file)"
    ]
    assert cluster.scaled == []


def test_workers_of_a_job_of_several_processes_belong_to_it() -> None:
    assert job_of("SLURMCluster-3-1", ["SLURMCluster-3", "SLURMCluster-31"]) == "SLURMCluster-3"
    assert job_of("SLURMCluster-31", ["SLURMCluster-3", "SLURMCluster-31"]) == "SLURMCluster-31"
    assert job_of("other-0", ["SLURMCluster-3"]) is None
