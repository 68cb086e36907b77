"""What the job routes do beyond one store call: filters, cancel-and-wait, delete with files, downloads."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from metagenx.controller.writes import cancel_unclaimed, delete_finished
from metagenx.outputs.collect import refusal
from metagenx.server.access import study_for
from metagenx.server.identity import Account
from metagenx.server.service import Service
from metagenx.store import (
    Artifact,
    Job,
    JobFilter,
    JobState,
    JobStateError,
    Project,
    Study,
    find_project,
)
from metagenx.store.queries import _conditions as job_conditions  # the filter of list_jobs, reused

CANCEL_WAIT = 5.0
"""Seconds a cancel request waits for the controller to confirm (it acts within ~0.2 s)."""
POLL = 0.05


def job_filter(
    session: Session,
    user: Account,
    *,
    project: str | None,
    study: int | None,
    states: Sequence[str] | None,
    owner: str | None,
) -> JobFilter | None:
    """The store filter for a job listing by ``user``; None when it can match nothing they may see.

    ``project`` names a project of ``owner`` (default: the user). A study the user may not
    see is a 404.
    """
    if owner is not None and not user.may_see(owner):
        return None
    project_id = None
    if project is not None:
        row = find_project(session, owner or user.name, project)
        if row is None:
            return None
        project_id = row.id
    if study is not None:
        study_for(session, user, study)
    return JobFilter(
        study_id=study,
        project_id=project_id,
        owner=owner if owner is not None else (None if user.is_admin else user.name),
        states=[JobState(s) for s in states] if states else None,
    )


def job_page(session: Session, filters: JobFilter, offset: int, limit: int) -> list[tuple[Job, str]]:
    """A page of jobs (as :func:`metagenx.store.list_jobs`) with their project's name, without
    their results (a result alone can be larger than the whole summary)."""
    query = (
        select(Job, Project.name)
        .join(Project, Project.id == Job.project_id)
        .where(*job_conditions(filters))
        .options(defer(Job.result))
        .order_by(Job.id)
        .offset(offset)
        .limit(limit)
    )
    return [(job, name) for job, name in session.execute(query)]


def cancel_and_wait(session: Session, service: Service, job: Job) -> Job:
    """Cancel ``job`` through the controller (which kills a running fit) and wait until it is done."""
    if job.state.finished:
        return job
    if not service.alive:  # no controller to ask: nothing runs, cancel in the store
        cancel_unclaimed(session, job)
        service.publish_state(job)
        return job
    service.cancel(job.id)
    deadline = time.monotonic() + CANCEL_WAIT
    while time.monotonic() < deadline:  # until cancelled and its fit has handed in its best result
        state = session.execute(select(Job.state).where(Job.id == job.id)).scalar_one()
        if JobState(state).finished and not service.controller.task_running(job.id):
            break
        time.sleep(POLL)
    return session.get_one(Job, job.id, populate_existing=True)


def delete_job(session: Session, service: Service, job: Job) -> None:
    """Delete a finished ``job`` with its events and output files (and its single-fit study); not
    while its fit is still ending (it would write into the folder being removed)."""
    if job.state.finished and service.alive and service.controller.task_running(job.id):
        raise JobStateError(
            f"job {job.id} is still stopping (its fit is handing in its last result); try again in a moment"
        )
    folder = delete_finished(session, job, within=service.settings.studies_dir)
    service.finished_jobs.forget(job.id)
    service.progress.pop(job.id, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def model_file(job: Job) -> Path:
    """The model file ``job`` fits; 409 when it is no longer on disk."""
    path = Path(job.model_path)
    if not path.is_file():
        raise HTTPException(409, f"the model file of job {job.id} ({path.name}) is no longer on the server")
    return path


def artifacts_of(session: Session, job_id: int) -> list[Artifact]:
    return list(
        session.execute(select(Artifact).where(Artifact.job_id == job_id).order_by(Artifact.id)).scalars()
    )


def artifact_path(session: Session, job: Job, kind: str) -> Path:
    """The file of ``kind`` that ``job`` left; 404 when there is none (yet) or it is gone."""
    artifact = (
        session.execute(
            select(Artifact)
            .where(Artifact.job_id == job.id, Artifact.kind == kind)
            .order_by(Artifact.id.desc())
        )
        .scalars()
        .first()
    )
    if artifact is None:
        known = sorted({a.kind for a in artifacts_of(session, job.id)})
        hint = f"; it has: {', '.join(known)}" if known else f" ({job.state.value}, no files yet)"
        raise HTTPException(404, f"job {job.id} has no {kind} file{hint}")
    path = Path(artifact.path)
    if not path.is_absolute() and job.study_id is not None:
        study = session.get_one(Study, job.study_id)
        path = Path(study.directory or ".") / path
    try:
        changed = refusal(os.lstat(path), None)
    except OSError:
        raise HTTPException(404, f"the {kind} file of job {job.id} is no longer on the server") from None
    if changed is not None:  # looked at again when served: what is served is what was collected
        raise HTTPException(404, f"the {kind} file of job {job.id} is not served: it is {changed}")
    return path
