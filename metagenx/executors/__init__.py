"""Where fits run. The rest of metagenx talks to :class:`~metagenx.executors.base.Executor` only."""

from __future__ import annotations

from typing import Any

from metagenx.executors.base import Executor
from metagenx.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "create_executor"]

EXECUTORS = ("local", "dask")


def create_executor(name: str, workers: int | None = None, **options: Any) -> Executor:
    """An executor by name: ``local`` (default) runs a pool of runner processes on this machine;
    ``dask`` runs fits on a Dask cluster (``scheduler="tcp://HOST:8786"`` required; ``workers``:
    fits kept submitted at least, see :class:`~metagenx.executors.dask.DaskExecutor`)."""
    from metagenx.errors import SettingsError

    if name == "local":
        return LocalExecutor(workers=workers)
    if name == "dask":
        scheduler = options.pop("scheduler", None)
        if not scheduler:
            raise SettingsError("the dask executor needs a scheduler address: --scheduler tcp://HOST:8786")
        from metagenx.executors.dask import DaskExecutor

        return DaskExecutor(str(scheduler), min_capacity=workers or 1, **options)
    raise SettingsError(f"unknown executor {name!r}; available: {', '.join(EXECUTORS)}")
