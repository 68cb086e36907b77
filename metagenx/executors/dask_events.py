"""What Dask says, as metagenx events: failed task futures and lost workers."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from metagenx.executors.base import ExecutorEvent


def worker_lost_reason(worker: str) -> str:
    return f"the Dask worker {worker} running it died (killed, out of memory, or its machine was lost)"


def describe_failure(job_id: int, error: BaseException | None) -> ExecutorEvent:
    """The terminal event for a task future that erred with ``error``.

    A worker that died under the task (``KilledWorker``) is ``crashed``: the job store
    counts the attempt and runs it again while attempts are left. Anything else means
    the task could not run at all on that worker (metagenx missing, a bug) and is an
    ``error``, not retried.
    """
    from distributed.scheduler import KilledWorker

    if isinstance(error, KilledWorker):
        worker = getattr(error.last_worker, "address", "?")
        return {"type": "crashed", "job_id": job_id, "reason": worker_lost_reason(str(worker))}
    if isinstance(error, ImportError):
        return {
            "type": "error",
            "job_id": job_id,
            "kind": "WorkerSetupError",
            "message": f"a Dask worker cannot run metagenx tasks ({error}): install metagenx,"
            " the same version as here, on every worker",
        }
    return {
        "type": "error",
        "job_id": job_id,
        "kind": type(error).__name__,
        "message": f"the Dask task failed: {type(error).__name__}: {error}",
    }


def lost_keys(message: Mapping[str, Any]) -> tuple[str, Collection[str]] | None:
    """``(worker, keys of the tasks it was running)`` when ``message`` (a scheduler event on the
    ``all`` topic) says a worker left unexpectedly, else None. A worker retired on purpose
    (adaptive scaling) is not a crash: Dask moves its tasks without charging them."""
    if message.get("action") != "remove-worker" or message.get("expected"):
        return None
    keys = message.get("processing-tasks") or ()
    return str(message.get("worker", "?")), {str(k) for k in keys}


def future_outcome(job_id: int, future: Any, connected: Callable[[], bool]) -> ExecutorEvent | None:
    """The terminal event a done task ``future`` tells: its return value (the runner's final message),
    or a failure. None when ``connected()`` is False: the scheduler was lost (or the executor is
    closing) and whoever handles that sends the event."""
    try:
        if future.status == "finished":
            message = dict(future.result())
            message.pop("key", None)
            return message
        if future.status == "error":
            return describe_failure(job_id, future.exception())
    except Exception as exc:
        if not connected():
            return None
        return {"type": "crashed", "job_id": job_id, "reason": f"its result was lost: {exc}"}
    if not connected():
        return None
    return {"type": "dropped", "job_id": job_id, "reason": "the Dask task was cancelled"}
