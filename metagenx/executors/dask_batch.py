"""Dask workers through a batch system (Slurm, PBS) with dask-jobqueue, set up for metagenx fits.

Each batch job runs ``cores`` worker processes of one thread each (one fit per core), with
the numerical thread pools pinned to 1 by the job script. The scheduler runs in the
process that calls :func:`start_batch_cluster` (e.g. ``metagenx cluster slurm`` on a login
node) with ``allowed-failures = 0``: the controller, not Dask, decides about re-runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from metagenx.engine.runtime import THREAD_VARIABLES
from metagenx.errors import SettingsError

BATCH_SYSTEMS = ("slurm", "pbs")

PROLOGUE = [
    "export " + " ".join(f"{name}=1" for name in THREAD_VARIABLES),
    "export MPLBACKEND=Agg",
]
"""Lines at the top of every job script, before the workers start."""


@dataclass(frozen=True)
class BatchRequest:
    """What to ask the batch system for, per job: ``cores`` (one fit each), ``memory`` (e.g. ``"16GB"``),
    ``walltime`` (``"HH:MM:SS"``); ``jobs`` started at once, or adaptive between ``min_jobs``
    and ``max_jobs`` when either is given. ``host``/``port``: where the scheduler listens
    (``interface``: a network interface name instead, for workers and scheduler)."""

    cores: int
    memory: str
    walltime: str
    jobs: int = 1
    queue: str | None = None
    account: str | None = None
    min_jobs: int | None = None
    max_jobs: int | None = None
    host: str | None = None
    port: int = 8786
    interface: str | None = None
    python: str = sys.executable
    job_directives: list[str] = field(default_factory=list)
    prologue: list[str] = field(default_factory=list)

    @property
    def adaptive(self) -> bool:
        return self.min_jobs is not None or self.max_jobs is not None

    def check(self) -> None:
        if self.cores < 1:
            raise SettingsError(f"--cores must be at least 1, not {self.cores}")
        if self.jobs < 0:
            raise SettingsError(f"--jobs must be 0 or more, not {self.jobs}")
        low, high = self.min_jobs or 0, self.max_jobs
        if high is not None and high < max(low, 1):
            raise SettingsError(f"--max-jobs {high} must be at least 1 and at least --min-jobs {low}")


def job_options(system: str, request: BatchRequest) -> dict[str, Any]:
    """Keyword arguments for dask-jobqueue's ``SLURMCluster``/``PBSCluster`` (and their job classes)."""
    if system not in BATCH_SYSTEMS:
        raise SettingsError(f"unknown batch system {system!r}; available: {', '.join(BATCH_SYSTEMS)}")
    request.check()
    options: dict[str, Any] = {
        "cores": request.cores,
        "processes": request.cores,
        "memory": request.memory,
        "walltime": request.walltime,
        "queue": request.queue,
        "account": request.account,
        "python": request.python,
        "job_script_prologue": [*PROLOGUE, *request.prologue],
        "job_extra_directives": list(request.job_directives),
        "interface": request.interface,
        "job_name": "metagenx-worker",
    }
    return options


def cluster_class(system: str) -> Any:
    """dask-jobqueue's cluster class for ``system``."""
    if system == "slurm":
        from dask_jobqueue.slurm import SLURMCluster

        return SLURMCluster
    from dask_jobqueue.pbs import PBSCluster

    return PBSCluster


def job_script(system: str, request: BatchRequest, scheduler: str | None = None) -> str:
    """The job script one batch job would run, without starting anything.

    ``scheduler`` defaults to ``tcp://HOST:PORT`` of the request (HOST: this machine's name).
    """
    import socket

    job_class = cluster_class(system).job_cls
    address = scheduler or f"tcp://{request.host or socket.gethostname()}:{request.port}"
    job = job_class(scheduler=address, name="metagenx-worker", **job_options(system, request))
    return str(job.job_script())


def start_batch_cluster(
    system: str, request: BatchRequest, dashboard: int | None = None, plugins: Sequence[Any] = ()
) -> Any:
    """Start the scheduler here and ask the batch system for workers; return the dask-jobqueue cluster.

    ``plugins``: scheduler plugins (e.g. :class:`~metagenx.executors.batch_watch.LostFits`).
    """
    import dask

    scheduler_options: dict[str, Any] = {"port": request.port, "plugins": list(plugins)}
    if request.host is not None and request.interface is None:
        scheduler_options["host"] = request.host
    dashboard_address = f":{dashboard}" if dashboard else None
    # Imported before the configuration is set: importing distributed inside ``dask.config.set``
    # would lose distributed's defaults when the block restores the configuration.
    chosen = cluster_class(system)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = chosen(
            scheduler_options=scheduler_options,
            dashboard_address=dashboard_address,
            **job_options(system, request),
        )
    if request.adaptive:
        cluster.adapt(minimum_jobs=request.min_jobs or 0, maximum_jobs=request.max_jobs or request.jobs)
    elif request.jobs:
        cluster.scale(jobs=request.jobs)
    return cluster
