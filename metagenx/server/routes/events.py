"""Live events (Server-Sent Events) of one job or one study."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from metagenx.server.access import job_for, study_for
from metagenx.server.auth import CurrentUser
from metagenx.server.deps import ServiceDep
from metagenx.server.identity import Account
from metagenx.server.service import Service
from metagenx.server.sse import job_stream, study_stream

router = APIRouter(tags=["events"])
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
EVENTS_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "An SSE stream."}
}


def check_job(service: Service, user: Account, job_id: int) -> None:
    with service.store.session() as session:
        job_for(session, user, job_id)


def check_study(service: Service, user: Account, study_id: int) -> None:
    with service.store.session() as session:
        study_for(session, user, study_id)


@router.get("/jobs/{job_id}/events", response_class=StreamingResponse, responses=EVENTS_DOC)
async def job_events(
    service: ServiceDep,
    user: CurrentUser,
    job_id: int,
    last_event_id: Annotated[int | None, Header()] = None,
) -> StreamingResponse:
    """The job's events: stored ones (resuming after ``Last-Event-ID``), then live, then ``end``."""
    await run_in_threadpool(check_job, service, user, job_id)
    stream = job_stream(service, job_id, last_event_id or 0)
    return StreamingResponse(stream, media_type="text/event-stream", headers=STREAM_HEADERS)


@router.get("/studies/{study_id}/events", response_class=StreamingResponse, responses=EVENTS_DOC)
async def study_events(service: ServiceDep, user: CurrentUser, study_id: int) -> StreamingResponse:
    """Each job's state, then live state and progress events of the study, then ``end`` with counts."""
    await run_in_threadpool(check_study, service, user, study_id)
    return StreamingResponse(
        study_stream(service, study_id), media_type="text/event-stream", headers=STREAM_HEADERS
    )
