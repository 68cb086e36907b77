"""Read-only questions to the job store: counts, job lists, events, earlier results."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from metagenx.store.models import Job, JobState


@dataclass(frozen=True)
class JobFilter:
    """Which jobs to list; ``None`` fields do not filter."""

    study_id: int | None = None
    project_id: int | None = None
    owner: str | None = None
    states: Collection[JobState] | None = None
    key: str | None = None


def counts_by_state(session: Session, study_id: int | None = None) -> dict[JobState, int]:
    """Number of jobs in each state (every state present, 0 when none), of one study or all."""
    query = select(Job.state, func.count()).group_by(Job.state)
    if study_id is not None:
        query = query.where(Job.study_id == study_id)
    counts = dict.fromkeys(JobState, 0)
    for state, count in session.execute(query).tuples():
        counts[JobState(state)] = count
    return counts


def list_jobs(
    session: Session, filters: JobFilter | None = None, offset: int = 0, limit: int = 100
) -> list[Job]:
    """Jobs matching ``filters`` in submission order, ``limit`` of them from ``offset``."""
    query = select(Job).where(*_conditions(filters)).order_by(Job.id).offset(offset).limit(limit)
    return list(session.execute(query).scalars())


def count_jobs(session: Session, filters: JobFilter | None = None) -> int:
    """How many jobs match ``filters``."""
    return session.execute(select(func.count(Job.id)).where(*_conditions(filters))).scalar_one()


def find_succeeded(session: Session, key: str, *, project_id: int | None = None) -> Job | None:
    """A succeeded job with content ``key`` in any study (of ``project_id`` if given), to reuse its result."""
    query = select(Job).where(Job.key == key, Job.state == JobState.SUCCEEDED)
    if project_id is not None:
        query = query.where(Job.project_id == project_id)
    return session.execute(query.order_by(Job.id).limit(1)).scalar_one_or_none()


def _conditions(filters: JobFilter | None) -> list[ColumnElement[bool]]:
    if filters is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if filters.study_id is not None:
        conditions.append(Job.study_id == filters.study_id)
    if filters.project_id is not None:
        conditions.append(Job.project_id == filters.project_id)
    if filters.owner is not None:
        conditions.append(Job.owner == filters.owner)
    if filters.states is not None:
        conditions.append(Job.state.in_(list(filters.states)))
    if filters.key is not None:
        conditions.append(Job.key == filters.key)
    return conditions
