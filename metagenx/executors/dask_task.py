"""The Dask task, run on a worker: supervise a warm runner child through one fit and report its messages.

The fit itself never runs in the worker's process (CPU-heavy Python in a Dask worker thread
runs 30–50 % slower); this task only feeds the runner its task and passes messages on.
Runners are kept per worker thread and reused for the next task of the same group, as in
the local executor. Everything here is module level so that a worker imports, not unpickles, it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from metagenx.errors import RunnerProtocolError
from metagenx.events import Crashed, Failed, Progress, RunnerMessage, Started, Violation
from metagenx.jobs import FitTask
from metagenx.runner.process import RunnerDied, RunnerProcess, runner_environment
from metagenx.runner.protocol import encode

if TYPE_CHECKING:
    from metagenx.sandbox import SandboxPolicy

CANCEL_POLL = 0.2
"""Seconds between checks whether Dask cancelled the task (then its runner is killed)."""

GENX_PACKAGE = "genx3server"


@dataclass
class Slot:
    """The warm runner of one worker thread and the group it last ran."""

    runner: RunnerProcess | None = None
    group: str | None = None
    sandboxed: bool = False


_lock = threading.Lock()
_slots: dict[int, Slot] = {}
_running: dict[int, RunnerProcess] = {}


DASK_ONLY_VARIABLES = ("MALLOC_TRIM_THRESHOLD_",)
"""Variables a Dask nanny sets for its worker that a fit must not inherit: with glibc's trim
threshold fixed at 64 KiB (Dask's default), numpy's temporaries are mapped and unmapped on every
allocation and a GenX fit runs 2–2.5× slower (measured here)."""


def runner_command() -> list[str]:
    """The runner child of a Dask worker: the usual runner, which also exits if the worker dies."""
    return [sys.executable, "-m", "metagenx.executors.dask_runner"]


def runner_env() -> dict[str, str]:
    """The runner's environment: the worker's, threads pinned, without Dask's memory tuning."""
    env = runner_environment()
    for name in DASK_ONLY_VARIABLES:
        env.pop(name, None)
    return env


def warm_runner(group: str, sandbox: SandboxPolicy | None = None) -> RunnerProcess:
    """This thread's runner for ``group``: the warm one if it ran the same group and lives, else a new one.

    With ``sandbox``, the runner lives in a sandbox of that policy (bubblewrap, its own uid,
    limits: see :mod:`metagenx.sandbox`); it dies with this worker (``--die-with-parent``).
    """
    with _lock:
        slot = _slots.setdefault(threading.get_ident(), Slot())
    stale = slot.group != group or slot.sandboxed != (sandbox is not None)
    if slot.runner is not None and (stale or not slot.runner.alive()):
        slot.runner.close()
        slot.runner = None
    if slot.runner is None:
        if sandbox is not None:
            from metagenx.sandbox.runner import sandboxed_runner_factory

            slot.runner = sandboxed_runner_factory(sandbox)()
        else:
            slot.runner = RunnerProcess(command=runner_command(), env=runner_env())
        slot.group, slot.sandboxed = group, sandbox is not None
    return slot.runner


def discard_runner(*, kill: bool = False) -> None:
    """Close this thread's runner (after it died or was killed; with ``kill``, kill it first: it
    broke the protocol); the next task starts a fresh one."""
    with _lock:
        slot = _slots.get(threading.get_ident())
    if slot is not None and slot.runner is not None:
        if kill:
            slot.runner.kill()
        slot.runner.close()
        slot.runner = None


def request_stop(job_id: int) -> bool:
    """Ask the fit of ``job_id`` on this worker to stop after its generation; False if it is not here.

    Called on the worker by ``Client.run`` (in the worker's event loop: returns at once).
    """
    with _lock:
        runner = _running.get(job_id)
    if runner is None:
        return False
    runner.request_stop()
    return True


def batch_job() -> str | None:
    """The batch job this worker runs in (``"Slurm job 12"``, ``"PBS job 7.server"``), or None.

    Called on the worker by ``Client.run``, so that a lost worker can be named by its job."""
    for system, variable in (("Slurm", "SLURM_JOB_ID"), ("PBS", "PBS_JOBID")):
        if os.environ.get(variable):
            return f"{system} job {os.environ[variable]}"
    return None


@cache
def installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def setup_problem(expected: dict[str, str | None], worker: str) -> str | None:
    """Why this worker cannot run the fit (GenX missing, other versions than the controller's), or None."""
    if importlib.util.find_spec("genx") is None or installed_version(GENX_PACKAGE) is None:
        return (
            f"GenX ({GENX_PACKAGE}) is not installed on Dask worker {worker}:"
            " install metagenx with its dependencies there (pip install metagenx)"
        )
    different = [
        f"{name} {version} on the controller, {installed_version(name)} on Dask worker {worker}"
        for name, version in expected.items()
        if installed_version(name) != version
    ]
    if different:
        return "version mismatch: " + "; ".join(different) + " (install the same versions everywhere)"
    return None


class Publisher:
    """Forwards runner messages to the controller's Dask topic: ``started`` at once, ``progress`` at most
    every ``interval`` s (the first always); ``result``/``error`` are the task's return value instead.

    Each goes as ``{"key", "worker", "message": <the protocol line>}``: the controller decodes and
    checks the line as it would a local runner's."""

    def __init__(self, worker: Any, topic: str, stamp: dict[str, str], interval: float) -> None:
        self.worker = worker
        self.topic = topic
        self.stamp = stamp
        self.interval = interval
        self.last: float | None = None

    def __call__(self, message: RunnerMessage) -> None:
        if isinstance(message, Progress):
            now = time.monotonic()
            if self.last is not None and now - self.last < self.interval:
                return
            self.last = now
        elif not isinstance(message, Started):
            return
        self.worker.log_event(self.topic, {**self.stamp, "message": encode(message).decode()})


class CancelWatch(threading.Thread):
    """Kills ``runner`` when Dask cancels task ``key`` (a kill request, or the controller went away)."""

    def __init__(self, worker: Any, key: str, runner: RunnerProcess) -> None:
        super().__init__(name=f"metagenx-cancel-watch-{key}", daemon=True)
        self.worker = worker
        self.key = key
        self.runner = runner
        self.done = threading.Event()
        self.cancelled = False

    def run(self) -> None:
        while not self.done.wait(CANCEL_POLL):
            state = self.worker.state.tasks.get(self.key)
            if state is None or state.state == "cancelled":
                self.cancelled = True
                self.runner.kill()
                return


def run_fit_task(
    task: FitTask,
    group: str,
    topic: str,
    expected: dict[str, str | None],
    progress_interval: float = 1.0,
    sandbox: SandboxPolicy | None = None,
) -> dict[str, str]:
    """Run one :class:`FitTask` on this worker's warm runner for ``group`` (in a sandbox of policy
    ``sandbox`` when given; its limits are the task's).

    Publishes ``started`` and ``progress`` messages on ``topic``; returns how the task ended as
    ``{"key", "worker", "message": <protocol line>}``: exactly one of ``result``, ``error`` (the fit
    failed, or this worker cannot run fits: ``expected`` versions differ or GenX is missing),
    ``crashed`` (the runner died) or ``violation`` (the runner broke the protocol and was killed).
    """
    from distributed import get_worker

    worker = get_worker()
    key = str(worker.get_current_task())
    stamp = {"key": key, "worker": str(worker.address)}
    problem = setup_problem(expected, stamp["worker"])
    if problem is not None:
        return {**stamp, "message": encode(Failed(task.job_id, "WorkerSetupError", problem)).decode()}
    watch: CancelWatch | None = None
    try:
        runner = warm_runner(group, sandbox)
        with _lock:
            _running[task.job_id] = runner
        watch = CancelWatch(worker, key, runner)
        watch.start()
        outcome = runner.run(task, on_event=Publisher(worker, topic, stamp, progress_interval))
        return {**stamp, "message": encode(outcome.message).decode()}
    except RunnerProtocolError as exc:
        discard_runner(kill=True)
        return {**stamp, "message": encode(Violation(task.job_id, str(exc))).decode()}
    except (RunnerDied, OSError) as exc:
        discard_runner()
        reason = exc.reason if isinstance(exc, RunnerDied) else f"runner process failed: {exc}"
        if watch is not None and watch.cancelled:
            reason = "killed: the Dask task was cancelled"
        reason = f"{reason} (on {stamp['worker']})"
        return {**stamp, "message": encode(Crashed(task.job_id, reason)).decode()}
    finally:
        if watch is not None:
            watch.done.set()
        with _lock:
            _running.pop(task.job_id, None)
