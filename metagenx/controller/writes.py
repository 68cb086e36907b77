"""Every change to the job store that does not come from the controller's own loop.

The controller package is the store's only writer. Submissions (a study with its jobs, one
more file of a watch), projects, retries, cancels of jobs no controller runs, deletions and
the relinking of a watch's sequential chain go through these functions, so that the rules of a
job's life (content keys, dependents, state moves with their events) stay in one place; the
rest of the code asks here. Each function works in the caller's session and flushes; the
caller's transaction commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from metagenx.controller.tasks import job_directory
from metagenx.store import (
    Job,
    JobState,
    JobStateError,
    NewJob,
    Project,
    Store,
    Study,
    StudyKind,
    StudyState,
    add_jobs,
    cancel,
    ensure_project,
    ensure_study,
    find_project,
    retry,
)


def store_study(
    store: Store,
    *,
    project: str,
    name: str,
    kind: StudyKind,
    jobs: Sequence[NewJob],
    directory: Path,
    definition: Mapping[str, Any] | None = None,
    owner: str = "local",
) -> int:
    """Create (or find) study ``name`` of ``owner``'s ``project`` and queue ``jobs`` in it, in a
    transaction of its own; the study id.

    Jobs are keyed by content: the same jobs submitted again are found, not queued twice, and
    finished ones keep their results.
    """
    with store.session() as session:
        project_row = ensure_project(session, project, owner)
        study = ensure_study(
            session, project_row, name, kind, definition=definition, directory=str(directory.resolve())
        )
        add_jobs(session, study, jobs)
        return study.id


def add_to_study(session: Session, study: Study, jobs: Sequence[NewJob]) -> list[Job]:
    """Queue ``jobs`` in ``study`` (each found instead when a job with its key is there)."""
    return add_jobs(session, study, jobs)


def open_project(session: Session, name: str, owner: str) -> tuple[Project, bool]:
    """``owner``'s project ``name`` and whether this call created it."""
    existed = find_project(session, owner, name) is not None
    return ensure_project(session, name, owner), not existed


def requeue(session: Session, job: Job) -> Job:
    """Queue a failed or cancelled ``job`` again with a fresh crash budget (:class:`JobStateError`
    for others)."""
    return retry(session, job)


def cancel_unclaimed(session: Session, job: Job) -> bool:
    """Cancel ``job`` in the store alone, for when no controller runs that could be running it
    (a running job's process must be stopped through a controller). True if it was cancelled."""
    return cancel(session, job)


def close_study(session: Session, study: Study, state: StudyState) -> None:
    """Mark ``study`` ``state`` (e.g. cancelled: a watch then queues no new file)."""
    study.state = state
    session.flush()


def delete_finished(session: Session, job: Job, *, within: Path) -> Path | None:
    """Delete a finished ``job`` with its events (and its single-fit study once it is empty).

    Returns the folder of its files to remove, when that folder lies inside ``within``
    (never anything outside it); the caller removes it. Raises
    :class:`JobStateError` for an unfinished job: cancel it first.
    """
    if not job.state.finished:
        raise JobStateError(f"job {job.id} is {job.state.value}; cancel it before deleting it")
    study = session.get(Study, job.study_id) if job.study_id is not None else None
    folder = job_directory(Path(study.directory), job) if study is not None and study.directory else None
    session.delete(job)
    session.flush()
    if study is not None and study.kind == StudyKind.FIT:
        left = session.execute(select(func.count(Job.id)).where(Job.study_id == study.id)).scalar_one()
        if left == 0:
            session.delete(study)
            session.flush()
            folder = Path(study.directory) if study.directory else folder
    if folder is not None and folder.resolve().is_relative_to(within.resolve()):
        return folder
    return None


# -- sequential watches ------------------------------------------------------------------
def latest_live(jobs: Sequence[Job]) -> Job | None:
    """The job a new sequential fit starts from: the latest of ``jobs`` not failed or cancelled."""
    live = [job for job in jobs if job.state not in (JobState.FAILED, JobState.CANCELLED)]
    return live[-1] if live else None


def study_jobs(session: Session, study_id: int, *, results: bool = True) -> list[Job]:
    """The study's jobs in the order they were queued (``results=False``: results not read)."""
    query = select(Job).where(Job.study_id == study_id).order_by(Job.id)
    if not results:
        query = query.options(defer(Job.result, raiseload=True))
    return list(session.execute(query).scalars())


def relink_orphans(session: Session, study: Study) -> list[Job]:
    """Queue again the jobs of watch ``study`` that were cancelled, before they ever ran, because
    the job they start from failed; each now starts from the latest earlier job that has not
    failed or been cancelled. Returns them (none once the watch itself is cancelled)."""
    if study.kind != StudyKind.WATCH or study.state != StudyState.ACTIVE:
        return []
    jobs = study_jobs(session, study.id)
    by_id = {job.id: job for job in jobs}
    revived = []
    for index, job in enumerate(jobs):
        seed = by_id.get(job.depends_on_job_id) if job.depends_on_job_id is not None else None
        if (
            job.state == JobState.CANCELLED
            and job.runs == 0
            and seed is not None
            and seed.state == JobState.FAILED
        ):
            previous = latest_live(jobs[:index])
            job.depends_on_job_id = previous.id if previous is not None else None
            revived.append(retry(session, job))
    return revived


def relink_after_failure(session: Session, job: Job) -> list[Job]:
    """After ``job`` failed: :func:`relink_orphans` of its study when that is a watch (else none)."""
    if job.state != JobState.FAILED or job.study_id is None:
        return []
    return relink_orphans(session, session.get_one(Study, job.study_id))
