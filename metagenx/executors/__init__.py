"""Where fits run. The rest of metagenx talks to :class:`~metagenx.executors.base.Executor` only."""

from __future__ import annotations

from metagenx.executors.base import Executor, ExecutorEvent
from metagenx.executors.local import LocalExecutor

__all__ = ["Executor", "ExecutorEvent", "LocalExecutor", "create_executor"]


def create_executor(name: str, workers: int | None = None, **options: object) -> Executor:
    """An executor by name: ``local`` (default) runs a pool of runner processes on this machine."""
    if name == "local":
        return LocalExecutor(workers=workers)
    from metagenx.errors import SettingsError

    raise SettingsError(f"unknown executor {name!r}; available: local")
