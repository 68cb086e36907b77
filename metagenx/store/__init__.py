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

from metagenx.store.accounts import (
    add_user,
    authenticate,
    create_token,
    find_user,
    list_users,
    revoke_tokens,
)
from metagenx.store.catalog import add_artifact, ensure_project, ensure_study, find_project, find_study
from metagenx.store.db import Store, open_store, resolve_url
from metagenx.store.errors import JobStateError, StoreError
from metagenx.store.events import events_after, record_event, record_progress
from metagenx.store.jobs import (
    add_jobs,
    cancel,
    claim_next,
    fail,
    finish,
    finish_with,
    job_spec,
    release,
    requeue_running,
    retry,
)
from metagenx.store.keys import NewJob, file_sha256, job_key
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
    Token,
    User,
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
    "JobState",
    "JobStateError",
    "NewJob",
    "Project",
    "Store",
    "StoreError",
    "Study",
    "StudyKind",
    "StudyState",
    "Token",
    "User",
    "add_artifact",
    "add_jobs",
    "add_user",
    "authenticate",
    "cancel",
    "claim_next",
    "count_jobs",
    "counts_by_state",
    "create_token",
    "ensure_project",
    "ensure_study",
    "events_after",
    "fail",
    "file_sha256",
    "find_project",
    "find_study",
    "find_succeeded",
    "find_user",
    "finish",
    "finish_with",
    "job_key",
    "job_spec",
    "list_jobs",
    "list_users",
    "open_store",
    "record_event",
    "record_progress",
    "release",
    "requeue_running",
    "resolve_url",
    "retry",
    "revoke_tokens",
]
