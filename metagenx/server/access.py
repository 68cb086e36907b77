"""Who may see what: users reach only their own projects, studies and jobs; admins reach all.

Something that exists but belongs to another user is answered exactly like something
that does not exist (404), so ids reveal nothing.
"""

from __future__ import annotations

import re

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from metagenx.server.identity import Account
from metagenx.store import Job, Project, Study, find_project, find_study

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=-]{0,127}")


def not_found(what: str, ident: int | str) -> HTTPException:
    return HTTPException(404, f"there is no {what} {ident}")


def job_for(session: Session, user: Account, job_id: int) -> Job:
    """Job ``job_id`` if ``user`` may see it, else 404."""
    job = session.get(Job, job_id)
    if job is None or not user.may_see(job.owner):
        raise not_found("job", job_id)
    return job


def job_with_names(session: Session, user: Account, job_id: int) -> tuple[Job, str, str | None, str | None]:
    """As :func:`job_for`, with its project's and study's names and its study's kind, in one query."""
    query = (
        select(Job, Project.name, Study.name, Study.kind)
        .join(Project, Project.id == Job.project_id)
        .outerjoin(Study, Study.id == Job.study_id)
        .where(Job.id == job_id)
    )
    row = session.execute(query).one_or_none()
    if row is None or not user.may_see(row[0].owner):
        raise not_found("job", job_id)
    job, project, study, kind = row
    return job, project, study, None if kind is None else kind.value


def study_for(session: Session, user: Account, study_id: int) -> tuple[Study, Project]:
    """Study ``study_id`` and its project if ``user`` may see them, else 404."""
    study = session.get(Study, study_id)
    project = session.get(Project, study.project_id) if study is not None else None
    if study is None or project is None or not user.may_see(project.owner):
        raise not_found("study", study_id)
    return study, project


def project_for(session: Session, user: Account, project_id: int) -> Project:
    """Project ``project_id`` if ``user`` may see it, else 404."""
    project = session.get(Project, project_id)
    if project is None or not user.may_see(project.owner):
        raise not_found("project", project_id)
    return project


def find_named_study(session: Session, owner: str, project: str, name: str) -> Study | None:
    """``owner``'s study ``name`` in ``project`` if it exists (reads only)."""
    row = find_project(session, owner, project)
    return find_study(session, row, name) if row is not None else None


def check_name(what: str, name: str) -> str:
    """``name`` if it can name a project or study (it becomes a folder name), else 422 saying why."""
    if not NAME.fullmatch(name):
        raise HTTPException(
            422,
            f"{what} name {name!r} is not allowed: use up to 128 letters, digits and '_.+=-', "
            "starting with a letter or digit",
        )
    return name
