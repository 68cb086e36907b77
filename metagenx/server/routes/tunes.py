"""``/api/v1/tunes``: meta-optimization of the optimizer's settings for one or more models."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from metagenx.server.auth import CurrentUser
from metagenx.server.deps import ServiceDep, SessionDep
from metagenx.server.schemas import JobPublic
from metagenx.server.tunes import submit_tune
from metagenx.server.uploads import json_object
from metagenx.server.views import job_public, json_response

router = APIRouter(prefix="/tunes", tags=["tunes"])


@router.post("", status_code=201, response_model=JobPublic, summary="Submit a tune")
def submit_tune_route(
    service: ServiceDep,
    session: SessionDep,
    user: CurrentUser,
    models: Annotated[list[UploadFile], File(description="The model files (.hgx or .gx) to tune for.")],
    settings: Annotated[
        str,
        Form(
            description='Tune settings as JSON, e.g. {"trials": 20, "seeds": 3, "run_budget": 60, '
            '"budget": 3600, "parallel": 1, "study_name": "xray", "fixed": {"max_time": 60}}.'
        ),
    ] = "{}",
    project: Annotated[str, Form()] = "default",
) -> Response:
    """Queue a tune: a study of kind ``tune`` with one job, whose result holds the trials and the best
    settings and whose files are best.toml (for ``--settings``), trials.csv and Optuna's plots.

    The same models and settings again return the existing job (200); the same ``study_name``
    with more ``trials`` resumes and extends the Optuna study.
    """
    job, created = submit_tune(
        session,
        service,
        user,
        project=project,
        models=models,
        settings=json_object(settings or "{}", "settings"),
    )
    body = job_public(session, job, service.progress.get(job.id), service.hider, created)
    return json_response(body, 201 if created else 200, {"Location": f"/api/v1/jobs/{job.id}"})
