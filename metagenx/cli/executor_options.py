"""``--executor local|dask`` and ``--scheduler ADDR``: where a command's fits run.

Commands that run fits (``study run``, ``batch``, ``serve``...) take these options and
build their executor with :func:`executor_from_options`, e.g.::

    def run(..., executor: ExecutorName = "local", scheduler: SchedulerAddress = None,
            workers: Workers = None) -> None:
        chosen = executor_from_options(executor, scheduler, workers)
"""

from __future__ import annotations

from typing import Annotated

import typer

from metagenx.errors import SettingsError
from metagenx.executors import EXECUTORS, Executor, create_executor

PANEL = "Where fits run"

ExecutorName = Annotated[
    str,
    typer.Option(
        "--executor",
        help="local: processes on this machine; dask: the workers of a Dask cluster (needs --scheduler).",
        rich_help_panel=PANEL,
    ),
]
SchedulerAddress = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        envvar="METAGENX_SCHEDULER",
        help="Dask scheduler address for --executor dask, e.g. tcp://HOST:8786 (see `metagenx cluster`).",
        rich_help_panel=PANEL,
    ),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        min=1,
        help="Fits at once. local: processes (default: number of cores); dask: at least this many"
        " submitted (default: the cluster's worker threads; raise it for an adaptive cluster).",
        rich_help_panel=PANEL,
    ),
]
FallbackLocal = Annotated[
    bool,
    typer.Option(
        "--fallback-local",
        help="dask: if the scheduler is lost, run the remaining fits on this machine instead of waiting.",
        rich_help_panel=PANEL,
    ),
]


def executor_from_options(
    executor: str, scheduler: str | None, workers: int | None, *, fallback_local: bool = False
) -> Executor:
    """The executor the options ask for (not started); :class:`SettingsError` for a bad combination."""
    name = executor.strip().lower()
    if name not in EXECUTORS:
        raise SettingsError(f"--executor {executor!r} is unknown; use one of: {', '.join(EXECUTORS)}")
    if name == "local":
        if scheduler:
            raise SettingsError("--scheduler is for --executor dask; the local executor needs none")
        return create_executor("local", workers)
    if not scheduler:
        raise SettingsError(
            "--executor dask needs --scheduler tcp://HOST:8786 (or METAGENX_SCHEDULER);"
            " start a cluster with `metagenx cluster local`"
        )
    return create_executor("dask", workers, scheduler=scheduler, fallback_local=fallback_local)
