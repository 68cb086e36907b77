"""``/api/v1/projects``: the projects that group your studies and jobs, with job counts by state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metagenx.controller.writes import open_project
from metagenx.server.access import check_name, project_for
from metagenx.server.auth import CurrentUser
from metagenx.server.deps import SessionDep
from metagenx.server.schemas import ProjectCreate, ProjectList, ProjectPublic
from metagenx.store import Job, JobState, Project, Study

router = APIRouter(prefix="/projects", tags=["projects"])


def projects_public(session: Session, projects: Sequence[Project]) -> list[ProjectPublic]:
    """``projects`` with their study count and job counts by state (two grouped queries)."""
    ids = [p.id for p in projects]
    query = select(Study.project_id, func.count()).where(Study.project_id.in_(ids)).group_by(Study.project_id)
    studies: dict[int, int] = dict(session.execute(query).tuples().all())
    counts = {pid: dict.fromkeys((s.value for s in JobState), 0) for pid in ids}
    rows = session.execute(
        select(Job.project_id, Job.state, func.count())
        .where(Job.project_id.in_(ids))
        .group_by(Job.project_id, Job.state)
    ).tuples()
    for pid, state, count in rows:
        counts[pid][JobState(state).value] = count
    return [
        ProjectPublic(
            id=p.id,
            name=p.name,
            owner=p.owner,
            created_at=p.created_at,
            studies=studies.get(p.id, 0),
            counts=counts[p.id],
        )
        for p in projects
    ]


@router.get("", response_model=ProjectList)
def list_projects(
    session: SessionDep,
    user: CurrentUser,
    owner: Annotated[str | None, Query(description="Admins: only this user's projects.")] = None,
) -> ProjectList:
    """Your projects (admins: everyone's), with job counts by state."""
    query = select(Project).order_by(Project.owner, Project.name)
    if not user.is_admin:
        query = query.where(Project.owner == user.name)
    elif owner is not None:
        query = query.where(Project.owner == owner)
    return ProjectList(items=projects_public(session, list(session.execute(query).scalars())))


@router.post("", status_code=201, response_model=ProjectPublic)
def create_project(
    session: SessionDep, user: CurrentUser, request: ProjectCreate, response: Response
) -> ProjectPublic:
    """Create a project (an existing one of that name is returned, 200)."""
    name = check_name("project", request.name)
    project, created = open_project(session, name, user.name)
    if not created:
        response.status_code = 200
    return projects_public(session, [project])[0]


@router.get("/{project_id}", response_model=ProjectPublic)
def get_project(session: SessionDep, user: CurrentUser, project_id: int) -> ProjectPublic:
    """One project with its job counts by state."""
    return projects_public(session, [project_for(session, user, project_id)])[0]
