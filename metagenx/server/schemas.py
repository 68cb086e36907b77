"""What the API sends and accepts: one family of schemas per entity (Create / Public / List)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

State = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Progress(BaseModel):
    """Where a fit is: its current run's latest report, or the final figures of a finished fit."""

    generation: int | None = None
    best_fom: float | None = None
    evaluations: int | None = None
    elapsed: float | None = Field(None, description="Seconds since the run's fit started.")
    solve: dict[str, Any] | None = Field(
        default=None, description="A solve job's starts: running, ended, agreeing, confidence (0-1)."
    )
    sampling: dict[str, int] | None = Field(
        default=None,
        description="While a fit's posterior is sampled: draws of target, DREAM generation of burn"
        " (burn-in while generation < burn).",
    )
    sampling_words: str | None = Field(
        default=None, description='The sampling in words, e.g. "sampling the posterior: 1200/10000 draws".'
    )


class ArtifactPublic(BaseModel):
    """A file a job left: ``kind`` is ``model`` (fitted .hgx), ``result_json``, ``parameters_csv``,
    ``fit_png`` or ``fom_png``."""

    kind: str
    name: str
    size: int = Field(description="Bytes.")
    url: str


class JobSummary(BaseModel):
    """A job as listed."""

    id: int
    owner: str
    project: str
    project_id: int
    study_id: int | None
    kind: str = Field(description="fit, solve or tune.")
    label: str
    model: str = Field(description="File name of the model the job fits.")
    state: State
    fom: float | None
    seed: int
    runs: int
    attempts: int
    interruptions: int
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(None, description="Why the job failed or was cancelled.")
    stop_reason: str | None = None
    progress: Progress | None = None


class JobPublic(JobSummary):
    """One job in full: settings, changes, result and files."""

    study: str | None
    study_kind: str | None = Field(
        None,
        description="The kind of the job's study: fit (a fit or solve) or tune for a job submitted on its "
        "own (listed under jobs, not studies).",
    )
    key: str
    model_sha256: str
    settings: dict[str, Any]
    axes: dict[str, Any] = Field(description="The study-axis values that made this job.")
    data: list[dict[str, Any]] = Field(description="Per data file: its data set, loader and options.")
    overrides: list[dict[str, Any]] = Field(description="Parameter changes (name, value, fit, min, max).")
    result: dict[str, Any] | None
    artifacts: list[ArtifactPublic]
    created: bool | None = Field(
        None, description="On submissions: true when the job is new, false when it existed (idempotent)."
    )


class JobList(BaseModel):
    items: list[JobSummary]
    total: int
    offset: int
    limit: int


class ParameterChange(BaseModel):
    """A change to one row of the model's parameter grid (None: keep)."""

    name: str
    value: float | None = None
    fit: bool | None = None
    min: float | None = None
    max: float | None = None


class ReprocessRequest(BaseModel):
    """Run a job again with changed fit settings and/or parameters (as a new job)."""

    settings: dict[str, Any] = Field(default_factory=dict, description="Fit settings to change.")
    parameters: list[ParameterChange] = Field(default_factory=list)
    project: str | None = Field(None, description="Project of the new job (default: the job's own).")


class StudyPublic(BaseModel):
    id: int
    name: str
    kind: str
    state: str
    owner: str
    project: str
    project_id: int
    created_at: datetime
    jobs: int
    counts: dict[str, int]
    definition: dict[str, Any]
    created: bool | None = None


class StudyList(BaseModel):
    items: list[StudyPublic]
    total: int


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128)


class ProjectPublic(BaseModel):
    id: int
    name: str
    owner: str
    created_at: datetime
    studies: int
    counts: dict[str, int] = Field(description="Jobs by state.")


class ProjectList(BaseModel):
    items: list[ProjectPublic]


class Health(BaseModel):
    """``sandbox``: ``on``; ``off`` (started with --unsafe-no-sandbox: uploaded models run
    unconfined); ``unavailable`` (required but missing: every job fails until fixed).
    ``database``: ``ok``, or what is wrong and what to do; ``storage``: ``ok``, or the storage
    fault the controller is waiting out (a full disk...)."""

    status: Literal["ok", "degraded"]
    database: str
    controller: str
    sandbox: Literal["on", "off", "unavailable"]
    storage: str = "ok"
