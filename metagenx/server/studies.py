"""Studies over HTTP: a definition (the study file's schema, as JSON) plus its files.

Files land in ``<data_dir>/studies/<owner>/<project>/<study folder>/`` under the relative
paths they were uploaded with; model files are checked (and filed by content) first.
The study's paths must stay inside its folder; it is expanded in the sandbox
(:meth:`metagenx.untrusted.UntrustedReader.expand_study`, whose answer is checked) and
stored with :func:`metagenx.study.submit.submit_study`: jobs are keyed by content, so
submitting the same study again adds nothing, and an interrupted upload can be repeated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import HTTPException, UploadFile
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metagenx.controller.writes import close_study
from metagenx.engine.result import FitResult
from metagenx.errors import StudyDefinitionError
from metagenx.server.access import check_name, find_named_study
from metagenx.server.identity import Account
from metagenx.server.service import Service
from metagenx.server.submit import check_queue
from metagenx.server.uploads import UNSAFE, clean_name, hash_stream, link_or_copy, save_file
from metagenx.store import Job, JobState, Study, StudyState, file_sha256, job_spec
from metagenx.study.results import JobOutcome
from metagenx.study.submit import submit_study

MODEL_SUFFIXES = (".hgx", ".gx")
CANCEL_WAIT = 5.0


def study_folder(service: Service, owner: str, project: str, name: str) -> Path:
    """The folder of study ``name``: a safe form of the name plus a short hash of the exact name."""
    safe = UNSAFE.sub("_", name).strip("._")[:80] or "study"
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return service.settings.studies_dir / owner / project / f"{safe}-{digest}"


def upload_path(filename: str | None) -> PurePosixPath:
    """The relative path an uploaded file is stored under (folders kept, nothing above the study)."""
    parts = [p for p in (filename or "").replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise HTTPException(
            422, f"file name {filename!r} is not allowed: give a path inside the study folder"
        )
    return PurePosixPath(*[clean_name(p) for p in parts])


def save_files(service: Service, files: list[UploadFile], folder: Path) -> None:
    """Store the study's files in ``folder``: models checked first; a file that exists with other
    content is a 409 (choose another study name), the same content is kept as it is."""
    models = [f for f in files if upload_path(f.filename).suffix.lower() in MODEL_SUFFIXES]
    checked = {id(f): service.save_model(f.file, f.filename) for f in models}
    for upload in files:
        target = folder / upload_path(upload.filename)
        saved = checked.get(id(upload))
        if target.exists():
            sha = saved.sha256 if saved is not None else hash_stream(upload.file)
            if sha != file_sha256(target):
                raise HTTPException(
                    409,
                    f"this study already has a different {upload_path(upload.filename)}; name the study anew",
                )
        elif saved is not None:
            link_or_copy(saved.path, target)
        else:
            save_file(upload.file, target)


def submit_study_upload(
    session: Session,
    service: Service,
    user: Account,
    *,
    project: str,
    values: dict[str, Any],
    files: list[UploadFile],
) -> tuple[Study, bool]:
    """Store and queue a study; return (study, created: new study or new jobs)."""
    from metagenx.study.definition import study_from_dict
    from metagenx.study.run import study_kind

    check_name("project", project)
    draft = study_from_dict(values, service.settings.studies_dir, confined=True)  # 422 before any file
    folder = study_folder(service, user.name, project, draft.name)
    save_files(service, files, folder)
    definition = dataclasses.replace(draft, base_dir=str(folder))
    if not definition.template_path.is_file():
        raise StudyDefinitionError(f"template: {definition.template} was not uploaded with the study")
    specs = service.reader.expand_study(values, folder, definition.template_path)
    before = existing_jobs(session, user, project, definition.name)
    check_queue(session, service, user, len(specs) - (before or 0))
    study_id = submit_study(
        service.store,
        project=project,
        name=definition.name,
        kind=study_kind(definition),
        specs=specs,
        directory=folder,
        definition=definition.to_dict(),
        owner=user.name,
    )
    study = session.get_one(Study, study_id, populate_existing=True)
    for job in session.execute(
        select(Job).where(Job.study_id == study_id, Job.state == JobState.QUEUED)
    ).scalars():
        service.publish_state(job)
    return study, before is None or job_count(session, study_id) > before


def existing_jobs(session: Session, user: Account, project: str, name: str) -> int | None:
    """Jobs already in ``user``'s study ``name`` of ``project`` (None: no such study; reads only)."""
    study = find_named_study(session, user.name, project, name)
    return job_count(session, study.id) if study is not None else None


def job_count(session: Session, study_id: int) -> int:
    return int(session.execute(select(func.count(Job.id)).where(Job.study_id == study_id)).scalar_one())


def outcomes(session: Session, study_id: int) -> list[JobOutcome]:
    """Each job of the study as a :class:`JobOutcome` (for the results table, summary and plots)."""
    found = []
    for job in session.execute(select(Job).where(Job.study_id == study_id).order_by(Job.id)).scalars():
        spec = job_spec(job)
        # a tune's result is not a fit's
        result = FitResult.from_dict(job.result) if job.result and "parameters" in job.result else None
        error = job.last_error if job.state in (JobState.FAILED, JobState.CANCELLED) else None
        found.append(JobOutcome(spec, job.state.value, result, error))
    return found


def cancel_study(session: Session, service: Service, study: Study) -> None:
    """Cancel every queued or running job of ``study`` (through the controller) and mark it cancelled.

    Waits (reading only, so the controller can write) until the controller has cancelled them.
    """
    unfinished = [JobState.QUEUED, JobState.RUNNING]
    query = select(Job.id).where(Job.study_id == study.id, Job.state.in_(unfinished))
    for job_id in session.execute(query).scalars():
        service.cancel(job_id)
    deadline = time.monotonic() + CANCEL_WAIT
    while time.monotonic() < deadline and session.execute(query.limit(1)).first() is not None:
        time.sleep(0.05)
    close_study(session, study, StudyState.CANCELLED)
