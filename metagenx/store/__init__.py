"""The durable job store: projects, studies, jobs (one fit each), their events and files.

SQLite file by default, PostgreSQL for a shared server; the controller is its only
writer. Open it with :func:`open_store`, then call the store functions inside
``with store.session() as session:``::

    store = open_store(None, data_dir)
    with store.session() as session:
        project = ensure_project(session, "beamtime-2026")
        study = ensure_study(session, project, "sweep", StudyKind.STUDY)
        jobs = add_jobs(session, study, specs)
"""

from __future__ import annotations

from metagenx.store.catalog import add_artifact, ensure_project, ensure_study, find_study
from metagenx.store.db import Store, open_store, resolve_url
from metagenx.store.errors import JobStateError, StoreError
from metagenx.store.events import events_after, record_event, record_progress
from metagenx.store.jobs import (
    add_jobs,
    cancel,
    claim_next,
    fail,
    finish,
    release,
    requeue_running,
    retry,
)
from metagenx.store.keys import JobSpec, file_sha256, job_key
from metagenx.store.models import (
    Artifact,
    Event,
    EventKind,
    Job,
    JobState,
    Project,
    Study,
    StudyKind,
    StudyState,
)
from metagenx.store.queries import (
    JobFilter,
    count_jobs,
    counts_by_state,
    find_succeeded,
    list_jobs,
)

__all__ = [
    "Artifact",
    "Event",
    "EventKind",
    "Job",
    "JobFilter",
    "JobSpec",
    "JobState",
    "JobStateError",
    "Project",
    "Store",
    "StoreError",
    "Study",
    "StudyKind",
    "StudyState",
    "add_artifact",
    "add_jobs",
    "cancel",
    "claim_next",
    "count_jobs",
    "counts_by_state",
    "ensure_project",
    "ensure_study",
    "events_after",
    "fail",
    "file_sha256",
    "find_study",
    "find_succeeded",
    "finish",
    "job_key",
    "list_jobs",
    "open_store",
    "record_event",
    "record_progress",
    "release",
    "requeue_running",
    "resolve_url",
    "retry",
]
