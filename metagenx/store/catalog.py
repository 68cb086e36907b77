"""Projects, studies and artifacts: find or create them by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from metagenx.store.errors import StoreError
from metagenx.store.models import DEFAULT_OWNER, Artifact, Project, Study, StudyKind, StudyState, utcnow
from metagenx.store.sql import insert_ignoring_conflicts


def ensure_project(session: Session, name: str, owner: str = DEFAULT_OWNER) -> Project:
    """The project ``name`` of ``owner``, created when missing (safe under concurrent calls)."""
    session.execute(
        insert_ignoring_conflicts(session, Project, ("owner", "name")),
        [{"name": name, "owner": owner, "created_at": utcnow()}],
    )
    return session.execute(select(Project).filter_by(owner=owner, name=name)).scalar_one()


def find_project(session: Session, owner: str, name: str) -> Project | None:
    """``owner``'s project ``name`` if it exists (reads only, unlike :func:`ensure_project`)."""
    return session.execute(select(Project).filter_by(owner=owner, name=name)).scalar_one_or_none()


def ensure_study(
    session: Session,
    project: Project,
    name: str,
    kind: StudyKind,
    *,
    definition: Mapping[str, Any] | None = None,
    directory: str | None = None,
) -> Study:
    """The study ``name`` of ``project``, created when missing; an existing one is returned as it is.

    Running the same command again thus finds the same study, and
    :func:`metagenx.store.jobs.add_jobs` reuses its jobs. Raises :class:`StoreError` when
    the name belongs to a study of another kind.
    """
    row = {
        "project_id": project.id,
        "name": name,
        "kind": kind,
        "definition": dict(definition or {}),
        "directory": directory,
        "state": StudyState.ACTIVE,
        "created_at": utcnow(),
    }
    session.execute(insert_ignoring_conflicts(session, Study, ("project_id", "name")), [row])
    study = session.execute(select(Study).filter_by(project_id=project.id, name=name)).scalar_one()
    if study.kind != kind:
        raise StoreError(
            f"project {project.name!r} already has a {study.kind.value} named {name!r}; "
            f"choose another name for this {StudyKind(kind).value}"
        )
    return study


def find_study(session: Session, project: Project, name: str) -> Study | None:
    """The study ``name`` of ``project``, if there is one."""
    return session.execute(select(Study).filter_by(project_id=project.id, name=name)).scalar_one_or_none()


def add_artifact(
    session: Session,
    *,
    kind: str,
    path: str,
    size: int,
    sha256: str | None = None,
    job_id: int | None = None,
    study_id: int | None = None,
) -> Artifact:
    """Record a file of a job or study (``size`` in bytes); the same path recorded again
    replaces the earlier row, so a rerun does not list its files twice."""
    if job_id is None and study_id is None:
        raise StoreError(f"artifact {path} belongs to neither a job nor a study")
    artifact = session.execute(
        select(Artifact).filter_by(job_id=job_id, study_id=study_id, path=path)
    ).scalar_one_or_none()
    if artifact is None:
        artifact = Artifact(job_id=job_id, study_id=study_id, path=path, kind=kind, size=size, sha256=sha256)
        session.add(artifact)
    else:
        artifact.kind, artifact.size, artifact.sha256, artifact.created_at = kind, size, sha256, utcnow()
    session.flush()
    return artifact
