"""One job through the controller, for commands and functions that run it here and wait for it.

``metagenx solve``, ``metagenx tune`` and :func:`metagenx.solve.solve` take the same path as a
study or a server: the job is stored, a :class:`~metagenx.controller.loop.Controller` claims it
and runs it on an executor, and the outcome is read back from the store. Where the caller has
no store, :func:`temporary_store` gives a SQLite file that lasts as long as the run.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metagenx.controller.loop import Controller, Listener
from metagenx.events import Failed
from metagenx.executors.base import Executor
from metagenx.store import (
    Job,
    JobState,
    NewJob,
    Store,
    StudyKind,
    add_jobs,
    cancel,
    ensure_project,
    ensure_study,
    open_store,
)

LOCAL_PROJECT = "local"
INTERRUPTED = "interrupted: the command that ran it was stopped before it ended"


@dataclass(frozen=True)
class JobOutcome:
    """How a job run here ended: its state, result (as stored), error and stop reason."""

    job_id: int
    state: JobState
    result: dict[str, Any] | None
    error: str | None
    stop_reason: str | None
    error_kind: str | None = None
    """The class name of the error the job's last run ended with (e.g. ``ModelScriptError``)."""


@contextmanager
def temporary_store() -> Iterator[Store]:
    """A job store in a temporary SQLite file, removed on leaving."""
    with tempfile.TemporaryDirectory(prefix="metagenx-") as folder:
        store = open_store(None, Path(folder))
        try:
            yield store
        finally:
            store.close()


def run_job(
    store: Store,
    job: NewJob,
    executor: Executor,
    *,
    study: str,
    kind: StudyKind,
    directory: Path,
    listeners: Sequence[Listener] = (),
    stop: threading.Event | None = None,
) -> JobOutcome:
    """Store ``job`` in study ``study`` (created when missing) and run it to its end on ``executor``.

    ``listeners`` get every event of the run (on the calling thread). Setting ``stop`` cancels
    the job: a fit or solve stops after its generation and keeps its best result so far
    (marked incomplete), a tune drops its running trial. A second interruption
    (:class:`KeyboardInterrupt`) kills what runs and the job is cancelled: nothing is left
    queued or running for another controller on the same store (a server's) to pick up. Only
    this study's jobs are touched. The same job submitted again to the same study is found,
    not rerun, once it succeeded.
    """
    with store.session() as session:
        project = ensure_project(session, LOCAL_PROJECT)
        study_row = ensure_study(session, project, study, kind, directory=str(directory.resolve()))
        (stored,) = add_jobs(session, study_row, [job])
        job_id, study_id = stored.id, study_row.id
    controller = Controller(store, executor)
    controller.listeners.extend(listeners)
    kinds: list[str] = []
    controller.listeners.append(
        lambda e: kinds.append(e.kind) if isinstance(e, Failed) and e.job_id == job_id else None
    )
    ended = threading.Event()
    if stop is not None:
        threading.Thread(target=cancel_on, args=(stop, ended, controller, job_id), daemon=True).start()
    try:
        controller.run(study_id)
    finally:
        ended.set()
        controller.close()
        with store.session() as session:  # interrupted: nothing is left queued or running behind
            cancel(session, job_id, INTERRUPTED)
    with store.session() as session:
        row = session.get_one(Job, job_id)
        error_kind = kinds[-1] if kinds else None
        return JobOutcome(job_id, row.state, row.result, row.last_error, row.stop_reason, error_kind)


def cancel_on(stop: threading.Event, ended: threading.Event, controller: Controller, job_id: int) -> None:
    """Cancel ``job_id`` when ``stop`` is set, unless the run ``ended`` first."""
    while not ended.is_set():
        if stop.wait(0.1):
            controller.request_cancel(job_id)
            controller.wake()
            return
