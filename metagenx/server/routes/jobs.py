"""``/api/v1/jobs``: submit one fit, list, get, cancel, delete, reprocess, download its files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from metagenx.controller.writes import requeue
from metagenx.errors import SettingsError
from metagenx.jobs import ParameterOverride
from metagenx.server import jobs as ops
from metagenx.server.access import job_for, job_with_names
from metagenx.server.auth import CurrentUser
from metagenx.server.deps import ServiceDep, SessionDep
from metagenx.server.schemas import ArtifactPublic, JobList, JobPublic, ReprocessRequest, State
from metagenx.server.submit import merge_overrides, parse_settings, reprocess_inputs, submit_fit
from metagenx.server.uploads import json_object
from metagenx.server.views import artifact_public, job_public, job_summary, json_response
from metagenx.solve.job_settings import TUNE_KEY
from metagenx.store import JobState, Project, count_jobs

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post("", status_code=201, response_model=JobPublic)
def submit_job(
    service: ServiceDep,
    session: SessionDep,
    user: CurrentUser,
    model: Annotated[UploadFile, File(description="The GenX model file, .hgx (HDF5) or .gx (zip).")],
    settings: Annotated[str, Form(description='Fit settings as a JSON object, e.g. {"seed": 1}.')] = "{}",
    project: Annotated[str, Form()] = "default",
) -> Response:
    """Submit one fit. The same file with the same settings again returns the existing job (200)."""
    values = parse_settings(json_object(settings or "{}", "settings"))
    saved = service.save_model(model.file, model.filename)
    job, created = submit_fit(
        session,
        service,
        user,
        project=project,
        model_path=saved.path,
        model_sha256=saved.sha256,
        model_name=saved.name,
        settings=values,
    )
    body = job_public(session, job, service.progress.get(job.id), service.hider, created)
    return json_response(body, 201 if created else 200, {"Location": f"/api/v1/jobs/{job.id}"})


@router.get("", response_model=JobList, summary="List jobs")
async def list_jobs_route(
    service: ServiceDep,
    user: CurrentUser,
    project: Annotated[str | None, Query(description="Project name (of `owner`, default: you).")] = None,
    study: Annotated[int | None, Query(description="Study id.")] = None,
    state: Annotated[list[State] | None, Query(description="Repeat for several states.")] = None,
    owner: Annotated[str | None, Query(description="Admins: another user's jobs.")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Jobs you may see, oldest first, with filters and pagination."""
    query = (user, project, study, tuple(state or ()), owner, offset, limit)
    kept, version = service.finished_jobs.page(query)
    if kept is not None:
        return Response(kept, media_type="application/json")

    def work(session: Session) -> Response:
        filters = ops.job_filter(session, user, project=project, study=study, states=state, owner=owner)
        if filters is None:
            return json_response(JobList(items=[], total=0, offset=offset, limit=limit))
        page = ops.job_page(session, filters, offset, limit)
        items = [
            job_summary(job, project, service.progress.get(job.id), service.hider) for job, project in page
        ]
        total = count_jobs(session, filters)
        response = json_response(JobList(items=items, total=total, offset=offset, limit=limit))
        if all(job.state.finished for job, _ in page):
            service.finished_jobs.put_page(query, version, bytes(response.body))
        return response

    return await service.read(work)


@router.get("/{job_id}", response_model=JobPublic)
async def get_job(service: ServiceDep, user: CurrentUser, job_id: int) -> Response:
    """One job: state, progress, result, files."""
    cached = service.finished_jobs.get(job_id)
    if cached is not None and user.may_see(cached.owner):
        return Response(cached.body, media_type="application/json")
    ticket = service.finished_jobs.ticket(job_id)

    def work(session: Session) -> Response:
        job, project, study, kind = job_with_names(session, user, job_id)
        response = json_response(
            job_public(
                session, job, service.progress.get(job.id), service.hider, names=(project, study, kind)
            )
        )
        if job.state.finished or job.state == JobState.RUNNING:  # changes only with its events
            service.finished_jobs.put(job.id, ticket, job.owner, bytes(response.body))
        return response

    return await service.read(work)


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(service: ServiceDep, session: SessionDep, user: CurrentUser, job_id: int) -> JobPublic:
    """Cancel a queued or running job (a running fit is killed). A finished job is returned as it is."""
    job = ops.cancel_and_wait(session, service, job_for(session, user, job_id))
    return job_public(session, job, service.progress.get(job.id), service.hider)


@router.delete("/{job_id}", status_code=204)
def delete_job(service: ServiceDep, session: SessionDep, user: CurrentUser, job_id: int) -> Response:
    """Delete a finished job, its events and its output files."""
    ops.delete_job(session, service, job_for(session, user, job_id))
    return Response(status_code=204)


@router.post("/{job_id}/reprocess", status_code=201, response_model=JobPublic)
def reprocess_job(
    service: ServiceDep,
    session: SessionDep,
    user: CurrentUser,
    job_id: int,
    request: ReprocessRequest,
) -> Response:
    """Run the job's model again with changed settings and/or parameters, as a new job.

    The same changes again return that job (200); with no change, a failed or cancelled
    single fit is queued again.
    """
    job = job_for(session, user, job_id)
    if TUNE_KEY in job.settings:
        raise SettingsError(
            "a tune is not re-run job by job: submit it again (POST /api/v1/tunes) with the same "
            "study_name and more trials to extend its study"
        )
    data, overrides = reprocess_inputs(job)
    changes = [ParameterOverride(**change.model_dump()) for change in request.parameters]
    project = request.project or session.get_one(Project, job.project_id).name
    new, created = submit_fit(
        session,
        service,
        user,
        project=project,
        model_path=ops.model_file(job),
        model_sha256=job.model_sha256,
        model_name=ops.model_file(job).name,
        settings=parse_settings(dict(job.settings) | request.settings),
        data=data,
        overrides=merge_overrides(overrides, changes),
        origin={"reprocess_of": job.id},
    )
    if not created and new.state in (JobState.FAILED, JobState.CANCELLED):
        new, created = requeue(session, new), True
        service.publish_state(new)
    body = job_public(session, new, service.progress.get(new.id), service.hider, created)
    return json_response(body, 201 if created else 200, {"Location": f"/api/v1/jobs/{new.id}"})


@router.get("/{job_id}/artifacts", response_model=list[ArtifactPublic])
def list_artifacts(session: SessionDep, user: CurrentUser, job_id: int) -> list[ArtifactPublic]:
    """The job's files: fitted model, result JSON, parameter CSV, plots."""
    job = job_for(session, user, job_id)
    return [artifact_public(job.id, a) for a in ops.artifacts_of(session, job.id)]


@router.get("/{job_id}/artifacts/{kind}", response_class=FileResponse)
def download_artifact(session: SessionDep, user: CurrentUser, job_id: int, kind: str) -> FileResponse:
    """Download one file of the job: ``model`` (fitted .hgx), ``result_json``, ``parameters_csv``,
    ``fit_png`` or ``fom_png``."""
    job = job_for(session, user, job_id)
    path = ops.artifact_path(session, job, kind)
    return FileResponse(path, filename=path.name)
