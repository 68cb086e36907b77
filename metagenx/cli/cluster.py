"""``metagenx cluster``: start a Dask cluster for ``--executor dask``, here or through Slurm/PBS.

Any machine with metagenx installed can join a running cluster with plain Dask::

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        dask worker tcp://HOST:8786 --nthreads 1 --nworkers N
"""

from __future__ import annotations

import functools
import os
import signal
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from metagenx.cli.app import SERVER, app
from metagenx.cli.console import make_console
from metagenx.executors.dask_batch import BatchRequest, job_script, start_batch_cluster
from metagenx.executors.dask_local import LocalDaskCluster

cluster_app = typer.Typer(
    help="Start a Dask cluster for `--executor dask`: on this machine, or on Slurm/PBS.",
    no_args_is_help=True,
)
app.add_typer(cluster_app, name="cluster", rich_help_panel=SERVER)

SchedulerPort = Annotated[int, typer.Option("--scheduler-port", help="Scheduler port (0: any free port).")]
Host = Annotated[
    str,
    typer.Option(
        "--host",
        help="Address the scheduler listens on: 127.0.0.1 (this machine only), a private"
        " interface's address, or 0.0.0.0 (every interface: firewall it, see docs/deployment.md).",
    ),
]
Dashboard = Annotated[
    bool,
    typer.Option("--dashboard/--no-dashboard", help="Serve Dask's dashboard on port 8787 (needs bokeh)."),
]


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    done = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def show_usage(console: Console, address: str) -> None:
    console.print(f"scheduler: [bold]{address}[/]", highlight=False, soft_wrap=True)
    console.print(
        f"run fits on it:  metagenx study run STUDY --executor dask --scheduler {address}\n"
        f"add a machine:   dask worker {address} --nthreads 1 --nworkers N"
        "  (with NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 set)\n"
        "stop with Ctrl-C",
        highlight=False,
        soft_wrap=True,
    )


@cluster_app.command("local")
def local_command(
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-n", min=1, help="Worker processes (default: number of cores)."),
    ] = None,
    scheduler_port: SchedulerPort = 8786,
    host: Host = "127.0.0.1",
    dashboard: Dashboard = False,
) -> None:
    """Start a Dask scheduler and N one-thread worker processes here, print its address, run until Ctrl-C."""
    console = make_console(highlight=False)
    count = workers or os.cpu_count() or 1
    with LocalDaskCluster(
        count, host=host, port=scheduler_port, dashboard=8787 if dashboard else None
    ) as cluster:
        console.print(f"started {count} Dask worker process(es), 1 thread each; logs in {cluster.directory}")
        show_usage(console, cluster.address)
        wait_for_interrupt()
        console.print("stopping the workers and the scheduler")


def batch_command(
    system: str,
    jobs: int,
    cores: int,
    memory: str,
    walltime: str,
    queue: str | None,
    account: str | None,
    min_jobs: int | None,
    max_jobs: int | None,
    scheduler_port: int,
    host: str | None,
    interface: str | None,
    job_directives: list[str] | None,
    dashboard: bool,
    dry_run: bool,
) -> None:
    request = BatchRequest(
        cores=cores,
        memory=memory,
        walltime=walltime,
        jobs=jobs,
        queue=queue,
        account=account,
        min_jobs=min_jobs,
        max_jobs=max_jobs,
        host=host,
        port=scheduler_port,
        interface=interface,
        job_directives=list(job_directives or []),
    )
    if dry_run:
        typer.echo(job_script(system, request))
        return
    from metagenx.executors.batch_watch import LostFits, SlurmWatch

    console = make_console(highlight=False)
    lost = LostFits()
    cluster = start_batch_cluster(system, request, dashboard=8787 if dashboard else None, plugins=[lost])
    watch: SlurmWatch | None = None
    try:
        scale = (
            f"adaptive, {request.min_jobs or 0}–{request.max_jobs or request.jobs} jobs"
            if request.adaptive
            else f"{request.jobs} job(s)"
        )
        console.print(f"asked {system} for {scale} of {cores} single-threaded workers each")
        show_usage(console, str(cluster.scheduler_address))
        if system == "slurm":  # PBS jobs are not watched: a PBS job that ends is not replaced
            say = functools.partial(console.print, highlight=False, soft_wrap=True)
            watch = SlurmWatch(cluster, lost, say, jobs=None if request.adaptive else request.jobs)
            watch.start()
        wait_for_interrupt()
        console.print("cancelling the batch jobs and stopping the scheduler")
    finally:
        if watch is not None:
            watch.stop()
        cluster.close()


JobsOption = Annotated[int, typer.Option("--jobs", min=0, help="Batch jobs to start now (fixed size).")]
CoresOption = Annotated[int, typer.Option("--cores", min=1, help="Cores per job: one fit (worker) per core.")]
MemoryOption = Annotated[str, typer.Option("--memory", help="Memory per job, e.g. 16GB.")]
WalltimeOption = Annotated[str, typer.Option("--walltime", help="Wall time per job, HH:MM:SS.")]
QueueOption = Annotated[str | None, typer.Option("--queue", help="Queue/partition.")]
AccountOption = Annotated[str | None, typer.Option("--account", help="Account/project to charge.")]
MinJobs = Annotated[int | None, typer.Option("--min-jobs", min=0, help="Adaptive scaling: fewest jobs.")]
MaxJobs = Annotated[int | None, typer.Option("--max-jobs", min=1, help="Adaptive scaling: most jobs.")]
BatchHost = Annotated[
    str | None,
    typer.Option("--host", help="Address the scheduler listens on (default: all; workers need to reach it)."),
]
Interface = Annotated[
    str | None, typer.Option("--interface", help="Network interface for scheduler and workers, e.g. ib0.")
]
JobDirective = Annotated[
    list[str] | None, typer.Option("--job-directive", help="Extra batch directive, repeatable.")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the job script and start nothing.")]


@cluster_app.command("slurm")
def slurm_command(
    cores: CoresOption,
    memory: MemoryOption,
    walltime: WalltimeOption,
    jobs: JobsOption = 1,
    queue: QueueOption = None,
    account: AccountOption = None,
    min_jobs: MinJobs = None,
    max_jobs: MaxJobs = None,
    scheduler_port: SchedulerPort = 8786,
    host: BatchHost = None,
    interface: Interface = None,
    job_directive: JobDirective = None,
    dashboard: Dashboard = False,
    dry_run: DryRun = False,
) -> None:
    """Start a scheduler here and Dask workers as Slurm jobs (sbatch); run until Ctrl-C."""
    batch_command(
        "slurm", jobs, cores, memory, walltime, queue, account, min_jobs, max_jobs,
        scheduler_port, host, interface, job_directive, dashboard, dry_run,
    )  # fmt: skip


@cluster_app.command("pbs")
def pbs_command(
    cores: CoresOption,
    memory: MemoryOption,
    walltime: WalltimeOption,
    jobs: JobsOption = 1,
    queue: QueueOption = None,
    account: AccountOption = None,
    min_jobs: MinJobs = None,
    max_jobs: MaxJobs = None,
    scheduler_port: SchedulerPort = 8786,
    host: BatchHost = None,
    interface: Interface = None,
    job_directive: JobDirective = None,
    dashboard: Dashboard = False,
    dry_run: DryRun = False,
) -> None:
    """Start a scheduler here and Dask workers as PBS jobs (qsub); run until Ctrl-C."""
    batch_command(
        "pbs", jobs, cores, memory, walltime, queue, account, min_jobs, max_jobs,
        scheduler_port, host, interface, job_directive, dashboard, dry_run,
    )  # fmt: skip
