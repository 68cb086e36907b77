"""Stored rows as API schemas."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from metagenx.engine.posterior import SamplingStatus, sampling_words
from metagenx.server.hide_paths import PathHider
from metagenx.server.schemas import ArtifactPublic, JobPublic, JobSummary, Progress
from metagenx.store import Artifact, Event, EventKind, Job, JobState, Project, Study

API = "/api/v1"


def json_response(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``model`` as a JSON response, serialized once (FastAPI would validate it again and re-encode
    it, in an extra thread-pool hop: the larger part of a status read's cost)."""
    return Response(model.model_dump_json(), status, headers, media_type="application/json")


def job_summary(job: Job, project: str, live: dict[str, Any] | None, hider: PathHider) -> JobSummary:
    """A job as listed; ``live`` is the latest progress report the server saw for it."""
    return JobSummary(**summary_fields(job, project, live, hider))


def summary_fields(job: Job, project: str, live: dict[str, Any] | None, hider: PathHider) -> dict[str, Any]:
    """The fields of :class:`JobSummary` (and the first ones of :class:`JobPublic`); the server's
    paths hidden (``hider``)."""
    error = job.last_error if job.state in (JobState.FAILED, JobState.CANCELLED) else None
    return dict(
        id=job.id,
        owner=job.owner,
        project=project,
        project_id=job.project_id,
        study_id=job.study_id,
        kind=job.kind.value,
        label=job.label or f"job-{job.id}",
        model=Path(job.model_path).name,
        state=job.state.value,
        fom=job.fom,
        seed=job.seed,
        runs=job.runs,
        attempts=job.attempts,
        interruptions=job.interruptions,
        queued_at=job.queued_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=None if error is None else hider.text(error),
        stop_reason=None if job.stop_reason is None else hider.text(job.stop_reason),
        progress=Progress(**live) if live is not None and job.state == JobState.RUNNING else None,
    )


def job_public(
    session: Session,
    job: Job,
    live: dict[str, Any] | None,
    hider: PathHider,
    created: bool | None = None,
    names: tuple[str, str | None, str | None] | None = None,
) -> JobPublic:
    """One job in full, with its progress, result and files; ``names`` are its project's and
    study's names and its study's kind (read here when not given). The server's paths are hidden
    (``hider``)."""
    if names is None:
        query = select(Project.name, Study.name, Study.kind).outerjoin(Study, Study.id == job.study_id)
        row = session.execute(query.where(Project.id == job.project_id)).one()
        names = (row[0], row[1], None if row[2] is None else row[2].value)
    project, study, study_kind = names
    fields = summary_fields(job, project, live, hider) | {"progress": progress_of(session, job, live)}
    artifacts = session.execute(select(Artifact).where(Artifact.job_id == job.id).order_by(Artifact.id))
    return JobPublic(
        **fields,
        study=study,
        study_kind=study_kind,
        key=job.key,
        model_sha256=job.model_sha256,
        settings=hider.hidden(job.settings),
        axes=hider.hidden(job.axes or {}),
        data=hider.hidden(job.data or []),
        overrides=list(job.overrides or []),
        result=hider.hidden(job.result),
        artifacts=[artifact_public(job.id, a) for a in artifacts.scalars()],
        created=created,
    )


def artifact_public(job_id: int, artifact: Artifact) -> ArtifactPublic:
    return ArtifactPublic(
        kind=artifact.kind,
        name=Path(artifact.path).name,
        size=artifact.size,
        url=f"{API}/jobs/{job_id}/artifacts/{artifact.kind}",
    )


def progress_of(session: Session, job: Job, live: dict[str, Any] | None) -> Progress | None:
    """Running: the latest report (live, else the last stored); finished: the final figures."""
    if job.state == JobState.RUNNING:
        if live is not None:
            return Progress(**live)
        event = session.execute(
            select(Event)
            .where(Event.job_id == job.id, Event.run == job.runs, Event.kind == EventKind.PROGRESS)
            .order_by(Event.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if event is None:
            return None
        data = event.data or {}
        return Progress(
            generation=event.generation,
            best_fom=event.best_fom,
            evaluations=event.evaluations,
            elapsed=data.get("elapsed"),
            solve=data.get("solve"),
            **stored_sampling(data.get("sampling")),
        )
    if job.result is not None:
        result = job.result
        solve = (result.get("extra") or {}).get("solve")
        return Progress(
            generation=result.get("generations"),
            best_fom=job.fom,
            evaluations=result.get("evaluations"),
            elapsed=solve["wall_time"] if solve else result.get("wall_time"),
        )
    return None


def sampling_fields(status: SamplingStatus | None) -> dict[str, Any]:
    """A progress report's posterior-sampling status and its words (both None while fitting)."""
    if status is None:
        return {"sampling": None, "sampling_words": None}
    return {"sampling": dataclasses.asdict(status), "sampling_words": sampling_words(status)}


def stored_sampling(stored: object) -> dict[str, Any]:
    """The sampling fields of a stored progress report (written by the controller from a checked
    runner message; anything else there is left out)."""
    try:
        status = SamplingStatus(**stored) if isinstance(stored, dict) else None
    except TypeError:
        status = None
    return {} if status is None else sampling_fields(status)
