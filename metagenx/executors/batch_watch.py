"""The batch jobs behind a dask-jobqueue cluster, watched: a job that ended is reported in Slurm's own
terms (cancelled, walltime reached, node failed...) with the number of fits that were on its
workers, and replaced.

dask-jobqueue submits the jobs but never looks at them again: a job cancelled or timed out leaves a
fixed-size cluster one job short for good. :class:`SlurmWatch` asks ``squeue`` about the cluster's
jobs every few seconds; :class:`LostFits` (a scheduler plugin) counts the metagenx fits on each worker
that left. The fits themselves run again because the controller re-queues them (or Dask moves them when
the worker left in an orderly way); this module only tells and replaces.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

FIT_KEY_PREFIX = "metagenx-fit-"
"""How the dask executor's task keys start (:meth:`metagenx.executors.dask.DaskExecutor.submit`)."""

LIVE_STATES = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "RESIZING", "REQUEUED", "STAGE_OUT"}
)
"""Slurm job states of a job that is not over."""

ENDINGS = {
    "CANCELLED": "was cancelled by Slurm (scancel, or an administrator)",
    "TIMEOUT": "reached its walltime",
    "NODE_FAIL": "lost its node",
    "PREEMPTED": "was preempted",
    "OUT_OF_MEMORY": "ran out of memory",
    "BOOT_FAIL": "could not boot its node",
    "DEADLINE": "reached its deadline",
    "FAILED": "failed",
    "COMPLETED": "ended",
}
"""How a job's final Slurm state reads in a sentence."""

WORKERS_LEAVE = 30.0
"""Seconds to wait, after Slurm ends a job, for its Dask workers to leave before reporting it anyway."""


def ending(state: str | None) -> str:
    if state is None:
        return "left Slurm's queue"
    return ENDINGS.get(state, f"ended ({state})")


def job_of(worker_name: str, jobs: Iterable[str]) -> str | None:
    """The job (its dask-jobqueue name) a worker called ``worker_name`` belongs to: the same name for a
    one-process job, ``<job>-<i>`` for one of several processes."""
    names = set(jobs)
    if worker_name in names:
        return worker_name
    stem = worker_name.rsplit("-", 1)[0]
    return stem if stem in names else None


class LostFits(SchedulerPlugin):
    """Remembers each worker's name, and counts per name the metagenx fits on workers that left (the
    scheduler's ``remove-worker`` event lists the tasks that were processing there: running, or assigned
    to run next; the controller re-queues each of them)."""

    name = "metagenx-lost-fits"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.names: dict[str, str] = {}
        self.lost: dict[str, int] = {}
        self.ever: set[str] = set()

    def add_worker(self, scheduler: Any, worker: str) -> None:
        with self.lock:
            self.names[worker] = str(scheduler.workers[worker].name)
            self.ever.add(self.names[worker])

    def log_event(self, topic: str, msg: Any) -> None:
        if topic != "all" or not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            return
        keys = msg.get("processing-tasks") or ()
        fits = sum(1 for key in keys if str(key).startswith(FIT_KEY_PREFIX))
        with self.lock:
            name = self.names.pop(str(msg.get("worker")), None)
            if name is not None:
                self.lost[name] = self.lost.get(name, 0) + fits

    def take(self, job: str) -> int:
        """Fits lost on the workers of ``job`` since the last call (and forget them)."""
        with self.lock:
            mine = [name for name in self.lost if job_of(name, [job]) == job]
            return sum(self.lost.pop(name) for name in mine)

    def joined(self, job: str) -> bool:
        """Whether a worker of ``job`` ever joined the cluster."""
        with self.lock:
            return any(job_of(name, [job]) == job for name in self.ever)

    def connected(self, job: str) -> bool:
        """Whether a worker of ``job`` is still connected."""
        with self.lock:
            return any(job_of(name, [job]) == job for name in self.names.values())


def slurm_states(job_ids: Iterable[str], timeout: float = 20.0) -> dict[str, str] | None:
    """Job id → Slurm state of the jobs ``squeue`` still knows (finished ones for ``MinJobAge``), or None
    when ``squeue`` cannot answer (then nothing is concluded)."""
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    try:
        done = subprocess.run(
            ["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i %T"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 and "Invalid job id" not in done.stderr:
        return None
    states = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2:
            states[parts[0]] = parts[1]
    return states


class SlurmWatch(threading.Thread):
    """Watches the Slurm jobs of dask-jobqueue ``cluster`` every ``interval`` s and calls ``say`` with a
    sentence per event: a job submitted; a job that ended (while the cluster still counted on it) and
    why, with how many fits were on it. In a fixed-size cluster (``jobs`` given) such a job is
    replaced by a new one; an adaptive cluster (``jobs`` None) submits what the work needs itself. A job
    that ended before any of its workers joined is reported, not replaced (a broken job script would
    otherwise be resubmitted for ever). ``lost`` is the cluster scheduler's :class:`LostFits` plugin."""

    def __init__(
        self,
        cluster: Any,
        lost: LostFits,
        say: Callable[[str], None],
        *,
        jobs: int | None,
        interval: float = 2.0,
        states: Callable[[Iterable[str]], dict[str, str] | None] = slurm_states,
    ) -> None:
        super().__init__(name="metagenx-slurm-watch", daemon=True)
        self.cluster = cluster
        self.lost = lost
        self.say = say
        self.jobs = jobs
        self.interval = interval
        self.states = states
        self.known: dict[str, str] = {}
        """Slurm job id → dask-jobqueue job name, of every job not yet concluded."""
        self.concluded: set[str] = set()
        """Job ids reported or retired (the cluster may still list them for a moment)."""
        self.ended: dict[str, tuple[str | None, float]] = {}
        """Job id → (its final state, when Slurm said so): ended, not yet reported."""
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            with contextlib.suppress(Exception):  # a hiccup of squeue or a closing cluster: try again
                self.poll()

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5.0)

    def poll(self) -> None:
        jobs = list(self.cluster.workers.items())
        for name, job in jobs:
            job_id = str(getattr(job, "job_id", None) or "")
            if job_id and job_id not in self.known and job_id not in self.concluded:
                self.known[job_id] = name
                self.say(f"worker job {job_id} submitted to Slurm")
        states = self.states(self.known)
        if states is None:
            return
        now = time.monotonic()
        for job_id, name in list(self.known.items()):
            state = states.get(job_id)
            if state in LIVE_STATES:
                continue
            if name not in self.cluster.worker_spec:  # retired by the cluster itself: not news
                del self.known[job_id]
                self.ended.pop(job_id, None)
                self.concluded.add(job_id)
                continue
            self.ended.setdefault(job_id, (state, now))
        for job_id, (state, when) in list(self.ended.items()):
            name = self.known[job_id]
            if self.lost.connected(name) and now - when < WORKERS_LEAVE:
                continue  # its workers have not left yet: their lost fits are not counted yet
            del self.ended[job_id], self.known[job_id]
            self.concluded.add(job_id)
            self.report(job_id, name, state)

    def report(self, job_id: str, name: str, state: str | None) -> None:
        if not self.lost.joined(name):
            self.say(
                f"worker job {job_id} {ending(state)} before its workers joined; not replaced"
                " (see the job's Slurm output file)"
            )
            self.cluster.loop.add_callback(self.forget, name, False)
            return
        fits = self.lost.take(name)
        running = f"{fits} fits on it are re-queued" if fits != 1 else "1 fit on it is re-queued"
        what = "a replacement is submitted" if self.jobs else "adaptive scaling submits jobs as work needs"
        self.say(f"worker job {job_id} {ending(state)}; {running}; {what}")
        self.cluster.loop.add_callback(self.forget, name, True)

    def forget(self, name: str, replace: bool) -> None:
        """On the cluster's event loop: drop the ended job from the cluster's plan (without cancelling
        it: it is over), and in a fixed-size cluster (``replace``) submit a new one under a new name."""
        self.cluster.worker_spec.pop(name, None)
        self.cluster.workers.pop(name, None)
        if replace and self.jobs:
            self.cluster.scale(jobs=self.jobs)
