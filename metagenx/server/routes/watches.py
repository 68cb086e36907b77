"""``/api/v1/watches``: fitting during beamtime, files pushed over HTTP (:mod:`metagenx.server.watches`).

A watch is a study of kind ``watch``: ``/api/v1/studies/{id}`` (and its ``table``,
``summary``, ``plots`` and ``events``) work on it too. Its events here never end when the
watch is idle, unlike the study's stream (which ends with ``end`` once no job is queued or
running, so a client must reconnect when the next file arrives).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from metagenx.runner.protocol import plain_text
from metagenx.server import watch_views as views
from metagenx.server import watches as ops
from metagenx.server.auth import CurrentUser
from metagenx.server.deps import ServiceDep, SessionDep
from metagenx.server.routes.events import EVENTS_DOC, STREAM_HEADERS
from metagenx.server.service import Service
from metagenx.server.sse import FINISHED, frame, next_live, study_snapshot
from metagenx.server.views import json_response
from metagenx.server.watch_schemas import WatchFilePublic, WatchList, WatchPublic, WatchSeries
from metagenx.store import Project, Study, StudyKind
from metagenx.untrusted.messages import MAX_UNIT

router = APIRouter(prefix="/watches", tags=["watches"])


@router.post("", status_code=201, response_model=WatchPublic, summary="Create a watch")
def create_watch(
    service: ServiceDep,
    session: SessionDep,
    user: CurrentUser,
    response: Response,
    definition: Annotated[
        str,
        Form(
            description='The watch as JSON: {"name", "project", "dataset", "sequential", "loader", '
            '"loader_options", "settings", "order"}; only "name" is required.'
        ),
    ],
    template: Annotated[UploadFile, File(description="The template model, .hgx or .gx.")],
) -> WatchPublic:
    """Create a watch (a study of kind ``watch``). The same name, template and settings again return
    it (200); the name with another template or settings is a 409."""
    request = ops.watch_request(definition)
    study, created = ops.create_watch(session, service, user, request, template)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"{views.API}/{study.id}"
    return views.watch_public(session, study, session.get_one(Project, study.project_id), created)


@router.get("", response_model=WatchList)
def list_watches(
    session: SessionDep,
    user: CurrentUser,
    project: Annotated[str | None, Query(description="Project name (of `owner`, default: you).")] = None,
    owner: Annotated[str | None, Query(description="Admins: another user's watches.")] = None,
) -> WatchList:
    """Watches you may see, newest first."""
    query = select(Study, Project).join(Project, Project.id == Study.project_id)
    query = query.where(Study.kind == StudyKind.WATCH).order_by(Study.id.desc())
    if owner is not None and not user.may_see(owner):
        return WatchList(items=[], total=0)
    if owner is not None or not user.is_admin or project is not None:
        query = query.where(Project.owner == (owner or user.name))
    if project is not None:
        query = query.where(Project.name == project)
    items = [views.watch_public(session, s, p) for s, p in session.execute(query).tuples()]
    return WatchList(items=items, total=len(items))


@router.get("/{watch_id}", response_model=WatchSeries)
def get_watch(service: ServiceDep, session: SessionDep, user: CurrentUser, watch_id: int) -> Response:
    """The series: the watch and one row per file (state, FOM, fitted values, order value, error)."""
    study, project = ops.watch_for(session, user, watch_id)
    return json_response(views.watch_series(session, service, study, project))


@router.post("/{watch_id}/files", status_code=201, response_model=WatchFilePublic, summary="Push a data file")
def push_file(
    service: ServiceDep,
    session: SessionDep,
    user: CurrentUser,
    watch_id: int,
    file: Annotated[UploadFile, File(description="A data file, sent with its own file name.")],
    order_value: Annotated[
        float | None, Form(description="The file's order value (e.g. temperature), if the pusher knows it.")
    ] = None,
    order_unit: Annotated[
        str | None,
        Form(max_length=MAX_UNIT, description="The order value's unit (e.g. K), with an order value only."),
    ] = None,
) -> Response:
    """Queue a fit of the file (201), unless a job of the watch already fits the same bytes (200,
    ``created`` false). The file is not read here: an unreadable one fails its job with the reason."""
    study, _ = ops.watch_for(session, user, watch_id)
    unit = plain_text(order_unit, MAX_UNIT) or None if order_unit and order_value is not None else None
    answer = ops.push_file(service, user, study, file, order_value, unit)
    status = 201 if answer.created else 200
    return json_response(answer, status, {"Location": f"/api/v1/jobs/{answer.job_id}"})


@router.get("/{watch_id}/table", response_model=None)
def watch_table(
    session: SessionDep,
    user: CurrentUser,
    watch_id: int,
    format: Annotated[Literal["json", "csv"], Query()] = "csv",
) -> Response | dict[str, Any]:
    """The series table as CSV (default) or JSON: one row per file, as the study table."""
    from metagenx.engine.result import finite_or_none
    from metagenx.server.studies import outcomes
    from metagenx.study.results import columns, csv_text, table, table_rows

    study, _ = ops.watch_for(session, user, watch_id)
    rows = table_rows(outcomes(session, study.id), views.targets_of(study))
    if format == "csv":
        headers = {"Content-Disposition": 'attachment; filename="results.csv"'}
        return PlainTextResponse(csv_text(rows), media_type="text/csv", headers=headers)
    return {"columns": columns(rows), "rows": finite_or_none(table(rows))}


@router.get("/{watch_id}/plots/{name}", response_class=Response)
def watch_plot(session: SessionDep, user: CurrentUser, watch_id: int, name: str) -> Response:
    """``parameter_trends.png``: each fitted parameter against file order or the order value."""
    study, _ = ops.watch_for(session, user, watch_id)
    if name != views.PLOT:
        raise HTTPException(404, f"there is no plot {name!r}; available: {views.PLOT}")
    content = views.trends_png(session, study)
    if content is None:
        raise HTTPException(404, f"watch {watch_id} has no {name} yet: it needs two fitted files")
    return Response(content, media_type="image/png", headers={"Cache-Control": "no-cache"})


@router.get("/{watch_id}/events", response_class=StreamingResponse, responses=EVENTS_DOC)
async def watch_events(service: ServiceDep, user: CurrentUser, watch_id: int) -> StreamingResponse:
    """Every job's state, then live events until the client leaves: ``state`` and ``row`` (the file's
    series row) when a job changes state, ``progress`` of running fits; keep-alive comments."""

    def check() -> None:
        with service.store.session() as session:
            ops.watch_for(session, user, watch_id)

    await run_in_threadpool(check)
    return StreamingResponse(
        watch_stream(service, watch_id), media_type="text/event-stream", headers=STREAM_HEADERS
    )


def row_event(service: Service, job_id: int) -> dict[str, Any] | None:
    with service.store.session() as session:
        row = views.series_row_public(session, service, job_id)
    return row.model_dump(mode="json") if row is not None else None


async def watch_stream(service: Service, watch_id: int) -> AsyncIterator[str]:
    """The watch's live events; subscribed before the snapshot is read, so nothing falls between."""
    subscription = service.broadcaster.subscribe(study_id=watch_id)
    try:
        jobs, _ = await run_in_threadpool(study_snapshot, service, watch_id)
        for job in jobs:
            yield frame(
                "state", {"job_id": job.id, "state": job.state.value, "fom": job.fom, "run": job.runs}
            )
        while True:
            live = await next_live(subscription, service.settings.sse_keepalive)
            if live is None:
                yield ": keep-alive\n\n"
                continue
            yield frame(live["type"], {k: v for k, v in live.items() if k != "type"})
            if live["type"] == "state":
                row = await run_in_threadpool(row_event, service, int(live["job_id"]))
                if row is not None:
                    yield frame("row", row | {"finished": row["state"] in FINISHED})
    finally:
        service.broadcaster.unsubscribe(subscription)
