"""``/api/v1/studies``: submit a study with its files; summary, table, plots; cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile
from fastapi.responses import PlainTextResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from metagenx.server import studies as ops
from metagenx.server.access import study_for
from metagenx.server.auth import CurrentUser
from metagenx.server.deps import ServiceDep, SessionDep
from metagenx.server.hide_paths import PathHider
from metagenx.server.schemas import StudyList, StudyPublic
from metagenx.server.uploads import json_object
from metagenx.store import Project, Study, StudyKind, counts_by_state

router = APIRouter(prefix="/studies", tags=["studies"])
PLOTS = ("fom_distribution.png", "parameter_trends.png")


def study_public(
    session: Session, study: Study, project: Project, hider: PathHider, created: bool | None = None
) -> StudyPublic:
    counts = {state.value: n for state, n in counts_by_state(session, study.id).items()}
    return StudyPublic(
        id=study.id,
        name=study.name,
        kind=study.kind.value,
        state=study.state.value,
        owner=project.owner,
        project=project.name,
        project_id=project.id,
        created_at=study.created_at,
        jobs=sum(counts.values()),
        counts=counts,
        definition=hider.hidden(study.definition),
        created=created,
    )


@router.post("", status_code=201, response_model=StudyPublic, summary="Submit a study")
def submit_study_route(
    service: ServiceDep,
    session: SessionDep,
    user: CurrentUser,
    response: Response,
    definition: Annotated[str, Form(description="The study as JSON: the study file's keys (template, …).")],
    files: Annotated[
        list[UploadFile], File(description="The template model and data files, by relative path.")
    ],
    project: Annotated[str, Form()] = "default",
) -> StudyPublic:
    """Submit a study. The same study again adds no job (200); new data files add only their jobs."""
    values = json_object(definition, "definition")
    study, created = ops.submit_study_upload(
        session, service, user, project=project, values=values, files=files
    )
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/studies/{study.id}"
    return study_public(session, study, session.get_one(Project, study.project_id), service.hider, created)


@router.get("", response_model=StudyList)
def list_studies(
    service: ServiceDep,
    session: SessionDep,
    user: CurrentUser,
    project: Annotated[str | None, Query(description="Project name (of `owner`, default: you).")] = None,
    owner: Annotated[str | None, Query(description="Admins: another user's studies.")] = None,
    single_jobs: Annotated[
        bool,
        Query(
            description="Include the studies of jobs submitted on their own (kinds `fit` and `tune`: "
            "one job each, listed under jobs)."
        ),
    ] = True,
) -> StudyList:
    """Studies you may see, newest first."""
    query = select(Study, Project).join(Project, Project.id == Study.project_id).order_by(Study.id.desc())
    if not single_jobs:
        query = query.where(Study.kind.not_in((StudyKind.FIT, StudyKind.TUNE)))
    if owner is not None:
        if not user.may_see(owner):
            return StudyList(items=[], total=0)
        query = query.where(Project.owner == owner)
    elif not user.is_admin or project is not None:
        query = query.where(Project.owner == user.name)
    if project is not None:
        query = query.where(Project.name == project)
    items = [study_public(session, s, p, service.hider) for s, p in session.execute(query).tuples()]
    return StudyList(items=items, total=len(items))


@router.get("/{study_id}", response_model=StudyPublic)
def get_study(service: ServiceDep, session: SessionDep, user: CurrentUser, study_id: int) -> StudyPublic:
    """One study with its job counts by state."""
    return study_public(session, *study_for(session, user, study_id), service.hider)


@router.get("/{study_id}/summary")
def study_summary(
    service: ServiceDep, session: SessionDep, user: CurrentUser, study_id: int
) -> dict[str, Any]:
    """Problems, best FOM, success rate and parameter statistics over converged starts."""
    from metagenx.engine.result import finite_or_none
    from metagenx.study.results import study_shape, summarize, table_rows

    study, project = study_for(session, user, study_id)
    summary = summarize(
        table_rows(ops.outcomes(session, study.id)), shape=study_shape(study.definition or {})
    )
    return {
        "study": study_public(session, study, project, service.hider).model_dump(mode="json"),
        **finite_or_none(summary.to_dict()),
    }


@router.get("/{study_id}/table", response_model=None)
def study_table(
    session: SessionDep,
    user: CurrentUser,
    study_id: int,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response | dict[str, Any]:
    """One row per job: label, state, seed, axes, FOM, fitted values, … (JSON or CSV)."""
    from metagenx.engine.result import finite_or_none
    from metagenx.study.results import columns, csv_text, table, table_rows

    study, _ = study_for(session, user, study_id)
    rows = table_rows(ops.outcomes(session, study.id))
    if format == "csv":
        return PlainTextResponse(csv_text(rows), media_type="text/csv")
    return {"columns": columns(rows), "rows": finite_or_none(table(rows))}


@router.get("/{study_id}/plots/{name}", response_class=Response)
def study_plot(session: SessionDep, user: CurrentUser, study_id: int, name: str) -> Response:
    """A summary plot (PNG): ``fom_distribution.png`` or ``parameter_trends.png``."""
    from metagenx.study.plots import fom_distribution_png, parameter_trends_png
    from metagenx.study.results import order_axis_label, order_unit, study_shape, summarize, table_rows

    study, _ = study_for(session, user, study_id)
    if name not in PLOTS:
        raise HTTPException(404, f"there is no plot {name!r}; available: {', '.join(PLOTS)}")
    rows = table_rows(ops.outcomes(session, study.id))
    definition = study.definition or {}
    summary = summarize(rows, shape=study_shape(definition))
    data = definition.get("data")
    order = str(data.get("order", "name")) if isinstance(data, dict) else "name"
    label = order_axis_label(order, order_unit(rows))
    content = (
        fom_distribution_png(rows, summary)
        if name == PLOTS[0]
        else parameter_trends_png(rows, summary, label)
    )
    if content is None:
        raise HTTPException(404, f"study {study_id} has no {name} (no fitted parameter to show)")
    return Response(content, media_type="image/png")


@router.post("/{study_id}/cancel", response_model=StudyPublic)
def cancel_study(service: ServiceDep, session: SessionDep, user: CurrentUser, study_id: int) -> StudyPublic:
    """Cancel the study's queued and running jobs (finished ones keep their results)."""
    study, project = study_for(session, user, study_id)
    ops.cancel_study(session, service, study)
    return study_public(session, study, project, service.hider)
