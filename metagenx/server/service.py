"""The server's engine room: the job store, the controller on its own thread, live events, metrics.

:class:`Service` is created by the app's lifespan. :meth:`Service.start` opens the store,
re-queues jobs a previous server left running, and starts the controller thread (local
executor). :meth:`Service.stop` ends it cleanly: running fits are killed and their jobs
re-queued without being charged an attempt, so a restart finishes them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from metagenx.errors import SettingsError
from metagenx.events import Event, Finished, Log, Progress, Requeued, Snapshot, Started, is_terminal
from metagenx.executors import Executor, LocalExecutor
from metagenx.sandbox import SandboxMode
from metagenx.server.broadcast import Broadcaster, LiveEvent
from metagenx.server.finished_jobs import FinishedJobs
from metagenx.server.hide_paths import PathHider
from metagenx.server.identity import TokenCache
from metagenx.server.metrics import ServerMetrics
from metagenx.server.sandboxing import ServerSandbox
from metagenx.server.scheduler import RunningLimits, ServerController
from metagenx.server.settings import Settings
from metagenx.server.snapshots import LatestSnapshots
from metagenx.server.uploads import SavedFile, save_model
from metagenx.server.views import sampling_fields
from metagenx.store import Job, JobState, counts_by_state, open_store
from metagenx.store.health import StoreHealth, check_store
from metagenx.untrusted.reader import UntrustedReader

log = logging.getLogger(__name__)

HEALTH_INTERVAL = 2.0
"""Seconds a health check of the job store is reused."""
THOROUGH_INTERVAL = 60.0
"""Seconds between whole-file checks of a SQLite store by ``/healthz`` (``PRAGMA quick_check``)."""
READERS = 4
"""Threads serving the hot reads (job status, lists, health) at once: fewer than the store's pooled
connections, so that no request opens (and configures) a connection of its own; more would
only contend for the GIL."""
T = TypeVar("T")


class Service:
    """Store, controller thread, live events and metrics of one running server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.model_copy(update={"data_dir": settings.data_dir.expanduser().resolve()})
        self.broadcaster = Broadcaster()
        self.tokens = TokenCache()
        self.progress: dict[int, dict[str, Any]] = {}
        self.snapshots = LatestSnapshots()
        self.finished_jobs = FinishedJobs()
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.failure: str | None = None
        self.store = open_store(self.settings.db, self.settings.data_dir)
        self.sandbox = ServerSandbox(self.settings, self.store)
        self.executor = self.make_executor()
        self.controller = ServerController(
            self.store,
            self.executor,
            RunningLimits(self.settings.max_running_per_user),
            max_solve_budget=self.settings.limit_wall_seconds,
        )
        self.metrics = ServerMetrics(self.job_counts, lambda: self.executor.capacity)
        self.reader = UntrustedReader(self.sandbox.mode, self.sandbox.policy)
        self.hider = PathHider(self.settings.data_dir)
        self.health: tuple[StoreHealth, float] | None = None
        self.last_thorough: float | None = None
        """Hides the server's folders in what the API shows."""
        """Reads uploaded files (model checks, study expansion, order values) in the sandbox."""
        self.readers = ThreadPoolExecutor(READERS, thread_name_prefix="metagenx-read")

    def make_executor(self) -> Executor:
        """Local runner processes, or the workers of a Dask cluster; sandboxed unless the server is not."""
        if self.settings.executor == "dask":
            from metagenx.executors.dask import DaskExecutor

            if not self.settings.scheduler:
                raise SettingsError(
                    "--executor dask needs --scheduler tcp://HOST:8786 (or METAGENX_SCHEDULER)"
                )
            return DaskExecutor(
                self.settings.scheduler,
                min_capacity=self.settings.workers or 1,
                sandbox=self.sandbox.policy if self.sandbox.mode is SandboxMode.REQUIRED else None,
            )
        return LocalExecutor(workers=self.settings.workers, runner_factory=self.sandbox.runner_factory())

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Re-queue what a previous server left running, then start the controller thread."""
        keep_private(self.settings.data_dir, (self.settings.uploads_dir, self.settings.studies_dir))
        log.warning("%s", self.sandbox.check())
        recovered = self.controller.recover()
        if recovered:
            log.info("re-queued %d job(s) interrupted by the previous server", recovered)
        self.controller.listeners.append(self.on_event)
        self.thread = threading.Thread(target=self.run_controller, name="metagenx-controller", daemon=True)
        self.thread.start()

    def run_controller(self) -> None:
        try:
            self.controller.run(None, self.stop_event, until_idle=False)
        except Exception as exc:  # reported by /healthz; the API keeps serving the store
            log.exception("the controller stopped")
            self.failure = f"the controller stopped: {type(exc).__name__}: {exc}"

    def stop(self, timeout: float = 30.0) -> None:
        """Kill running fits and re-queue their jobs (not charged), then close the store.

        The controller records what ended before the stop, then kills every runner and records
        nothing more (:meth:`~metagenx.controller.Controller.abort`).
        """
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)
        self.readers.shutdown(wait=True, cancel_futures=True)
        self.store.close()

    @property
    def alive(self) -> bool:
        """True while the controller thread runs."""
        return self.thread is not None and self.thread.is_alive() and self.failure is None

    # -- questions -----------------------------------------------------------------------------
    async def read(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one of :data:`READERS` threads, with a session of its own.

        A plain executor: lighter per call than FastAPI's thread pool, which the hot reads
        would otherwise enter twice (dependency and route).
        """

        def run() -> T:
            with self.store.session() as session:
                return work(session)

        return await asyncio.get_running_loop().run_in_executor(self.readers, run)

    def save_model(self, source: BinaryIO, filename: str | None) -> SavedFile:
        """Check an uploaded model in the sandbox and file it under its content hash (see
        :func:`metagenx.server.uploads.save_model`)."""
        return save_model(
            source,
            filename,
            self.settings.uploads_dir,
            self.reader,
            max_bytes=self.settings.max_upload_bytes,
        )

    def database_health(self) -> StoreHealth:
        """Every table of the store read (at most every :data:`HEALTH_INTERVAL` s), and the whole of
        a SQLite file checked (at most every :data:`THOROUGH_INTERVAL` s)."""
        now = time.monotonic()
        if self.health is None or self.health[1] + HEALTH_INTERVAL < now:
            thorough = self.last_thorough is None or self.last_thorough + THOROUGH_INTERVAL < now
            if thorough:
                self.last_thorough = now
            self.health = (check_store(self.store, thorough=thorough), now)
        return self.health[0]

    def job_counts(self) -> dict[JobState, int]:
        with self.store.session() as session:
            return counts_by_state(session)

    def cancel(self, job_id: int) -> None:
        """Ask the controller to cancel ``job_id`` (applied on its thread within a moment)."""
        self.controller.request_cancel(job_id)

    # -- live events ---------------------------------------------------------------------------
    def publish_state(self, job: Job) -> None:
        """Tell live streams about ``job``'s state as stored."""
        self.finished_jobs.forget(job.id)
        if job.state == JobState.QUEUED:
            self.controller.wake()
        self.broadcaster.publish(state_event(job, self.hider))

    def on_event(self, event: Event) -> None:
        """Controller listener (its thread): keep the latest progress, count metrics, publish."""
        if self.controller.stopping:
            return
        job_id = event.job_id
        match event:
            case Progress():
                self.on_progress(event)
                return
            case Snapshot():
                text = self.snapshots.keep(event)
                self.broadcaster.publish({"type": "snapshot", "job_id": job_id, "text": text})
                return
            case Log(message=message):
                self.finished_jobs.forget(job_id)
                self.broadcaster.publish({"type": "log", "job_id": job_id, "message": message})
                return
            case Started():
                self.finished_jobs.forget(job_id)
                self.snapshots.forget(job_id)
                return
            case Requeued():
                with self.store.session() as session:
                    job = session.get(Job, job_id)
                if job is not None:
                    self.publish_state(job)
                return
            case Finished(result=result):  # the evaluations since the last progress report
                self.metrics.progress(job_id, result.evaluations)
        self.finished_jobs.forget(job_id)
        with self.store.session() as session:
            job = session.get(Job, job_id)
        if job is None:
            return
        if job.state != JobState.RUNNING:
            self.progress.pop(job_id, None)
            self.snapshots.forget(job_id)
        if is_terminal(event) and job.state.finished:  # this event ended the fit: count it once
            self.metrics.fit_finished(job_id, job.state)
        self.publish_state(job)

    def on_progress(self, event: Progress) -> None:
        """Keep a running job's latest progress for status reads, and publish it."""
        job_id = event.job_id
        progress: dict[str, Any] = {
            "generation": event.generation,
            "best_fom": event.best_fom,
            "evaluations": event.evaluations,
            "elapsed": event.elapsed,
            "solve": None if event.solve is None else dataclasses.asdict(event.solve),
            **sampling_fields(event.sampling),
        }
        self.metrics.progress(job_id, event.evaluations)
        study_id = self.progress.get(job_id, {}).get("study_id")
        if study_id is None:
            with self.store.session() as session:
                study_id = session.execute(select(Job.study_id).where(Job.id == job_id)).scalar()
        self.progress[job_id] = progress | {"study_id": study_id}
        self.finished_jobs.changed(job_id)
        self.broadcaster.publish({"type": "progress", "job_id": job_id, "study_id": study_id} | progress)


def keep_private(data_dir: Path, folders: tuple[Path, ...]) -> None:
    """Make the data folder and its main folders the server's alone (0700) and its database files
    0600: no other account on the machine may read uploads, results or the job store. (Sandboxes
    see only what is mounted into them, so the files inside keep the modes they need.)"""
    for folder in (data_dir, *folders):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    for database in data_dir.glob("*.db*"):
        if database.is_file() and not database.is_symlink():
            os.chmod(database, 0o600)


def state_event(job: Job, hider: PathHider) -> LiveEvent:
    """The live ``state`` event of ``job`` as it stands."""
    return {
        "type": "state",
        "job_id": job.id,
        "study_id": job.study_id,
        "state": job.state.value,
        "fom": job.fom,
        "error": hider.text(job.last_error) if job.state == JobState.FAILED and job.last_error else None,
        "run": job.runs,
    }
