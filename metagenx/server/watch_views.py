"""Watches as API schemas: the watch, its series (one row per file), a pushed file, the trend plot."""

from __future__ import annotations

import dataclasses
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from metagenx.engine.result import finite_or_none
from metagenx.server.schemas import Progress
from metagenx.server.service import Service
from metagenx.server.watch_schemas import SeriesRowPublic, WatchFilePublic, WatchPublic, WatchSeries
from metagenx.store import Job, JobState, Project, Study, counts_by_state
from metagenx.watch.series import SeriesRow, order_label, parameter_names, series_row, series_rows, watch_jobs

API = "/api/v1/watches"
PLOT = "parameter_trends.png"
PLOTS: dict[int, tuple[str, bytes | None]] = {}
"""The latest trend plot of each watch, with the fingerprint of the jobs it was drawn from."""
PLOTS_KEPT = 64


def file_public(job: Job, *, created: bool, problem: str | None = None) -> WatchFilePublic:
    """The answer to a push: the file's job, new or found by content (its result is not read)."""
    row = series_row(job, results=False)
    return WatchFilePublic(
        job_id=job.id,
        created=created,
        label=row.label,
        sha256=row.sha256 or "",
        state=row.state,
        file_index=row.file_index,
        order_value=row.order_value,
        order_problem=problem,
    )


def links(watch_id: int) -> dict[str, str]:
    """Where to follow the watch."""
    base = f"{API}/{watch_id}"
    return {
        "series": base,
        "files": f"{base}/files",
        "table": f"{base}/table?format=csv",
        "plot": f"{base}/plots/{PLOT}",
        "events": f"{base}/events",
    }


def watch_public(
    session: Session, study: Study, project: Project, created: bool | None = None
) -> WatchPublic:
    """The watch with its job counts."""
    definition = study.definition
    counts = {state.value: n for state, n in counts_by_state(session, study.id).items()}
    return WatchPublic(
        id=study.id,
        name=study.name,
        owner=project.owner,
        project=project.name,
        project_id=project.id,
        state=study.state.value,
        created_at=study.created_at,
        template=definition["template"],
        dataset=definition["dataset"],
        sequential=definition["sequential"],
        loader=definition["loader"],
        loader_options=definition["loader_options"],
        settings=definition["settings"],
        order=definition["order"],
        targets=targets_of(study),
        files=sum(counts.values()),
        counts=counts,
        links=links(study.id),
        created=created,
    )


def watch_series(session: Session, service: Service, study: Study, project: Project) -> WatchSeries:
    """The watch and one row per file (with the latest progress of running fits)."""
    jobs = watch_jobs(session, study.id)
    rows = series_rows(jobs, targets_of(study))
    units = {
        (job.axes or {}).get("order_unit") for job in jobs if (job.axes or {}).get("order_value") is not None
    }
    unit = units.pop() if len(units) == 1 else None
    return WatchSeries(
        **watch_public(session, study, project).model_dump(),
        parameters=parameter_names(rows),
        order_label=order_label(study.definition["order"], None if unit is None else str(unit)),
        rows=[row_public(service, row) for row in rows],
    )


def series_row_public(session: Session, service: Service, job_id: int) -> SeriesRowPublic | None:
    """One row of the series, for a live event (None when the job is gone)."""
    job = session.get(Job, job_id)
    if job is None:
        return None
    study = session.get(Study, job.study_id) if job.study_id is not None else None
    return row_public(service, series_row(job, targets=targets_of(study) if study is not None else None))


def targets_of(study: Study) -> dict[str, float]:
    """The watch's targets (parameter → σ wanted), as stored with its definition."""
    return dict((study.definition or {}).get("targets") or {})


def row_public(service: Service, row: SeriesRow) -> SeriesRowPublic:
    """A series row, with the latest progress while its fit runs."""
    running = row.state == JobState.RUNNING.value
    return SeriesRowPublic(
        **finite_or_none(dataclasses.asdict(row)),
        progress=progress_of(service, row.job_id) if running else None,
    )


def progress_of(service: Service, job_id: int) -> Progress | None:
    """The latest progress report the server saw for the job."""
    live = service.progress.get(job_id)
    return Progress(**{k: v for k, v in live.items() if k in Progress.model_fields}) if live else None


def trends_png(session: Session, study: Study) -> bytes | None:
    """The trend plot of the watch's fitted parameters, drawn again only when a job changed."""
    from metagenx.server.studies import outcomes
    from metagenx.study.plots import parameter_trends_png
    from metagenx.study.results import order_unit, summarize, table_rows

    query = (
        select(Job.id, Job.state, Job.fom, Job.finished_at).where(Job.study_id == study.id).order_by(Job.id)
    )
    fingerprint = hashlib.sha256(repr(session.execute(query).all()).encode()).hexdigest()
    cached = PLOTS.get(study.id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    rows = table_rows(outcomes(session, study.id))
    label = order_label(study.definition["order"], order_unit(rows))
    content = parameter_trends_png(rows, summarize(rows, shape="batch"), label)
    if len(PLOTS) >= PLOTS_KEPT:
        PLOTS.clear()
    PLOTS[study.id] = (fingerprint, content)
    return content
