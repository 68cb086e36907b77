"""What Dask says, as metagenx events: failed task futures and lost workers."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from metagenx.errors import RunnerProtocolError
from metagenx.events import Crashed, Dropped, Failed, Progress, Started, TaskEnd, Violation
from metagenx.runner.protocol import MAX_NAME, decode_runner_message, decode_worker_end

BATCH_JOB = re.compile(r"(Slurm|PBS) job [A-Za-z0-9_.\-\[\]]{1,64}")
"""What a worker may say about its batch job (:func:`~metagenx.executors.dask_task.batch_job`)."""


def worker_lost_reason(worker: str, batch_job: str | None = None) -> str:
    where = f"the Dask worker {worker}" + (f" ({batch_job})" if batch_job else "")
    return f"{where} running it died (killed, out of memory, walltime reached, or its machine was lost)"


def batch_job_label(answer: Any) -> str | None:
    """``"Slurm job 12"`` when a worker's answer to :func:`~metagenx.executors.dask_task.batch_job` is
    one (a worker's bytes are untrusted: anything else is None)."""
    return answer if isinstance(answer, str) and BATCH_JOB.fullmatch(answer) else None


def describe_failure(job_id: int, error: BaseException | None) -> TaskEnd:
    """The terminal event for a task future that erred with ``error``.

    A worker that died under the task (``KilledWorker``) is ``crashed``: the job store
    counts the attempt and runs it again while attempts are left. Anything else means
    the task could not run at all on that worker (metagenx missing, a bug) and is an
    ``error``, not retried.
    """
    from distributed.scheduler import KilledWorker

    if isinstance(error, KilledWorker):
        worker = getattr(error.last_worker, "address", "?")
        return Crashed(job_id, worker_lost_reason(str(worker)))
    if isinstance(error, ImportError):
        return Failed(
            job_id,
            "WorkerSetupError",
            f"a Dask worker cannot run metagenx tasks ({error}): install metagenx,"
            " the same version as here, on every worker",
        )
    return Failed(job_id, type(error).__name__, f"the Dask task failed: {type(error).__name__}: {error}")


def lost_keys(message: Mapping[str, Any]) -> tuple[str, Collection[str]] | None:
    """``(worker, keys of the tasks it was running)`` when ``message`` (a scheduler event on the
    ``all`` topic) says a worker left unexpectedly, else None. A worker retired on purpose
    (adaptive scaling) is not a crash: Dask moves its tasks without charging them."""
    if message.get("action") != "remove-worker" or message.get("expected"):
        return None
    keys = message.get("processing-tasks") or ()
    return str(message.get("worker", "?")), {str(k) for k in keys}


def worker_report(job_id: int, report: Any) -> tuple[str, bytes] | Violation:
    """``(worker, protocol line)`` of a report a worker sent about ``job_id`` (``{"key", "worker",
    "message"}``), or a :class:`Violation` when it is not one (a worker's bytes are untrusted)."""
    if not isinstance(report, dict) or set(report) != {"key", "worker", "message"}:
        return Violation(job_id, "a Dask worker sent a report that is not one of metagenx's")
    if not all(isinstance(report[name], str) for name in report) or len(report["worker"]) > MAX_NAME:
        return Violation(job_id, "a Dask worker sent a report with fields of the wrong type")
    return report["worker"], report["message"].encode()


def decode_update(job_id: int, line: bytes) -> Started | Progress | Violation:
    """A ``started``/``progress`` message of ``job_id`` relayed by a worker, or the violation it is."""
    try:
        message = decode_runner_message(line)
    except RunnerProtocolError as exc:
        return Violation(job_id, str(exc))
    if not isinstance(message, Started | Progress) or message.job_id != job_id:
        return Violation(
            job_id, f"a Dask worker relayed a {message.type!r} message that is not about job {job_id}"
        )
    return message


def decode_end(job_id: int, line: bytes) -> TaskEnd:
    """How a worker says task ``job_id`` ended, or the violation its report is."""
    try:
        end = decode_worker_end(line)
    except RunnerProtocolError as exc:
        return Violation(job_id, str(exc))
    if end.job_id != job_id:
        return Violation(
            job_id, f"a Dask worker reported the end of job {end.job_id} for a task of job {job_id}"
        )
    return end


def future_outcome(job_id: int, future: Any, connected: Callable[[], bool]) -> TaskEnd | None:
    """The terminal event a done task ``future`` tells: its return value (the runner's final message),
    or a failure. None when ``connected()`` is False: the scheduler was lost (or the executor is
    closing) and whoever handles that sends the event."""
    try:
        if future.status == "finished":
            report = worker_report(job_id, future.result())
            return report if isinstance(report, Violation) else decode_end(job_id, report[1])
        if future.status == "error":
            return describe_failure(job_id, future.exception())
    except Exception as exc:
        if not connected():
            return None
        return Crashed(job_id, f"its result was lost: {exc}")
    if not connected():
        return None
    return Dropped(job_id, "the Dask task was cancelled")
