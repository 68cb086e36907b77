"""From a stored job to the task a runner executes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from metagenx.jobs import FitTask
from metagenx.outputs.names import job_folder_name
from metagenx.store import Job, job_spec


def job_directory(study_directory: Path, job: Job) -> Path:
    """Where a job's outputs go: ``<study>/jobs/<id>-<short label>/`` (``jobs/001-T100K``; see
    :func:`~metagenx.outputs.names.job_folder_name`)."""
    return study_directory / "jobs" / job_folder_name(job.id, job.label or "")


def task_for(session: Session, job: Job, study_directory: Path) -> FitTask:
    """The runner task for ``job``: its files, changes, settings, and start values from its predecessor."""
    model = Path(job.model_path)
    spec = job_spec(job)
    start_values: dict[str, float] = {}
    if job.depends_on_job_id is not None:
        previous = session.get(Job, job.depends_on_job_id)
        if previous is not None and previous.result is not None:
            start_values = {p["name"]: float(p["value"]) for p in previous.result["parameters"]}
    return FitTask(
        job_id=job.id,
        model_path=str(model),
        settings=dict(job.settings),
        output=job.output or str(job_directory(study_directory, job) / f"{model.stem}.hgx"),
        data=spec.data,
        overrides=spec.overrides,
        start_values=start_values,
    )
