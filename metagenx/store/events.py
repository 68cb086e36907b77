"""Job events: progress reports and log lines of a job's current run, and reading them back.

State changes are recorded by :mod:`metagenx.store.jobs` itself. Events carry the run
number of the job (``Job.runs``), so a rerun's reports are never mixed with those of a
run that died.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from metagenx.store.errors import StoreError
from metagenx.store.models import Event, EventKind, Job


def record_progress(
    session: Session,
    job: Job | int,
    *,
    generation: int,
    best_fom: float,
    evaluations: int,
    data: Mapping[str, Any] | None = None,
) -> Event:
    """Record a progress report of ``job``'s current run (best FOM after ``generation``)."""
    return record_event(
        session,
        job,
        EventKind.PROGRESS,
        generation=generation,
        best_fom=best_fom,
        evaluations=evaluations,
        data=data,
    )


def record_event(
    session: Session,
    job: Job | int,
    kind: EventKind,
    *,
    generation: int | None = None,
    best_fom: float | None = None,
    evaluations: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> Event:
    """Record an event of ``job``'s current run (e.g. a log line: ``kind=LOG, data={"message": ...}``).

    A non-finite ``best_fom`` (the first generations may have none) is stored as null.
    """
    if isinstance(job, Job):
        job_id, run = job.id, job.runs
    else:
        job_id, found = job, session.execute(select(Job.runs).where(Job.id == job)).scalar_one_or_none()
        if found is None:
            raise StoreError(f"there is no job {job} in the job store")
        run = found
    event = Event(
        job_id=job_id,
        run=run,
        kind=kind,
        generation=generation,
        best_fom=best_fom if best_fom is not None and math.isfinite(best_fom) else None,
        evaluations=evaluations,
        data=dict(data) if data is not None else None,
    )
    session.add(event)
    session.flush()
    return event


def events_after(session: Session, job_id: int, after_id: int = 0, limit: int = 1000) -> list[Event]:
    """The job's events with an id above ``after_id``, oldest first (live streams pass the last id seen)."""
    query = select(Event).where(Event.job_id == job_id, Event.id > after_id).order_by(Event.id).limit(limit)
    return list(session.execute(query).scalars())
