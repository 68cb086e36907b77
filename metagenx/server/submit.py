"""Single fits over HTTP: a submission (or a reprocess) is a one-job study of kind ``fit``.

The study is named after the content it fits: ``fit-<hash of model bytes, data, settings,
parameter changes>``. Submitting the same file with the same settings again finds the
same study and so the same job (answered 200 instead of 201): an interrupted submission
can always be repeated. Without a seed in the settings, the seed is derived from the same
hash, so a repeated submission is also the same fit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metagenx.jobs import DataAssignment, JobKind, JobSpec, ParameterOverride
from metagenx.server.access import check_name, find_named_study
from metagenx.server.errors import QuotaExceeded
from metagenx.server.identity import Account
from metagenx.server.service import Service
from metagenx.server.uploads import link_or_copy
from metagenx.solve.job_settings import is_solve, parse_job_settings
from metagenx.store import Job, JobFilter, JobState, StudyKind, job_spec, list_jobs
from metagenx.store.keys import canonical_json
from metagenx.study.submit import submit_study

FIT_LABEL = "fit"
SEED_RANGE = 2**31


def parse_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Validated, complete job settings (a fit's, or a solve's with a ``solve`` table, see
    :func:`metagenx.solve.job_settings.parse_job_settings`); :class:`SettingsError` (422) naming
    the bad field."""
    return parse_job_settings(values)


def fit_identity(
    model_sha256: str,
    data: Sequence[tuple[str, DataAssignment]],
    settings: dict[str, Any],
    overrides: Sequence[ParameterOverride],
) -> str:
    """SHA-256 hex of everything that makes a single fit what it is (file paths excluded)."""
    content = {
        "model": model_sha256,
        "data": [[sha, {k: v for k, v in asdict(d).items() if k != "path"}] for sha, d in data],
        "settings": settings,
        "overrides": [asdict(o) for o in overrides],
    }
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def check_queue(session: Session, service: Service, user: Account, adding: int) -> None:
    """Raise :class:`QuotaExceeded` (429) if ``adding`` more queued jobs would pass ``user``'s limit."""
    limit = user.max_queued if user.max_queued is not None else service.settings.max_queued_per_user
    if limit is None or adding <= 0:
        return
    queued = session.execute(
        select(func.count(Job.id)).where(Job.owner == user.name, Job.state == JobState.QUEUED)
    ).scalar_one()
    if queued + adding > limit:
        raise QuotaExceeded(
            f"user {user.name} has {queued} queued job(s) and the limit is {limit}; this submission "
            f"would add {adding}: wait for some to run, or cancel some"
        )


def submit_fit(
    session: Session,
    service: Service,
    user: Account,
    *,
    project: str,
    model_path: Path,
    model_sha256: str,
    model_name: str,
    settings: dict[str, Any],
    data: Sequence[tuple[str, DataAssignment]] = (),
    overrides: Sequence[ParameterOverride] = (),
    origin: dict[str, Any] | None = None,
) -> tuple[Job, bool]:
    """Find or queue the single fit of ``model_path`` with ``settings`` (checked by
    :func:`parse_settings`); return (job, created).

    ``data`` pairs each data file's SHA-256 with its assignment; ``origin`` is recorded in
    the study's definition (e.g. the job this one reprocesses).
    """
    check_name("project", project)
    settings = dict(settings)
    identity = fit_identity(model_sha256, data, {k: v for k, v in settings.items() if k != "seed"}, overrides)
    if settings["seed"] is None:
        settings["seed"] = int(identity[:8], 16) % SEED_RANGE
    name = f"fit-{fit_identity(model_sha256, data, settings, overrides)[:20]}"
    existing = find_existing(session, user, project, name)
    if existing is not None:
        return existing, False
    check_queue(session, service, user, 1)
    directory = service.settings.studies_dir / user.name / project / name
    local_model = directory / model_name
    link_or_copy(model_path, local_model)
    spec = JobSpec(
        kind=JobKind.SOLVE if is_solve(settings) else JobKind.FIT,
        label=FIT_LABEL,
        model_path=str(local_model),
        settings=settings,
        data=[assignment for _, assignment in data],
        overrides=list(overrides),
    )
    definition = {"kind": "fit", "model": model_name, "settings": settings} | (origin or {})
    job = queue_one_job_study(
        session,
        service,
        user,
        project=project,
        name=name,
        kind=StudyKind.FIT,
        spec=spec,
        directory=directory,
        definition=definition,
    )
    return job, True


def queue_one_job_study(
    session: Session,
    service: Service,
    user: Account,
    *,
    project: str,
    name: str,
    kind: StudyKind,
    spec: JobSpec,
    directory: Path,
    definition: dict[str, Any],
) -> Job:
    """Store study ``name`` of ``user``'s ``project`` with its one job (queued), tell live streams; the job.

    ``session`` must hold no write: the study is written in a session of its own (SQLite has one writer).
    """
    study_id = submit_study(
        service.store,
        project=project,
        name=name,
        kind=kind,
        specs=[spec],
        directory=directory,
        definition=definition,
        owner=user.name,
    )
    job = list_jobs(session, JobFilter(study_id=study_id), limit=1)[0]
    service.publish_state(job)
    return job


def find_existing(session: Session, user: Account, project: str, name: str) -> Job | None:
    """The job of fit study ``name`` in ``user``'s ``project``, if it was submitted before (reads only)."""
    study = find_named_study(session, user.name, project, name)
    if study is None:
        return None
    jobs = list_jobs(session, JobFilter(study_id=study.id), limit=1)
    return jobs[0] if jobs else None


def reprocess_inputs(job: Job) -> tuple[list[tuple[str, DataAssignment]], list[ParameterOverride]]:
    """The data files and parameter changes ``job`` ran with."""
    spec = job_spec(job)
    return list(zip(job.data_sha256, spec.data, strict=True)), list(spec.overrides)


def merge_overrides(
    current: Sequence[ParameterOverride], changes: Sequence[ParameterOverride]
) -> list[ParameterOverride]:
    """``current`` with each change applied by parameter name (fields left None keep their value)."""
    merged = {o.name: o for o in current}
    for change in changes:
        before = asdict(merged[change.name]) if change.name in merged else {"name": change.name}
        after = before | {k: v for k, v in asdict(change).items() if v is not None}
        merged[change.name] = ParameterOverride(**after)
    return list(merged.values())
