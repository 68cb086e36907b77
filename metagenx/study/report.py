"""A stored study's results: read its jobs from the store, write its tables and plots, show them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from metagenx.engine.result import FitResult
from metagenx.errors import MetagenxError
from metagenx.store import (
    EventKind,
    Job,
    JobFilter,
    JobState,
    Store,
    Study,
    counts_by_state,
    events_after,
    job_spec,
    list_jobs,
    open_store,
)
from metagenx.study.definition import study_from_dict
from metagenx.study.results import (
    JobOutcome,
    StudySummary,
    order_label,
    summarize,
    table,
    table_rows,
    write_study_outputs,
)

DEFINITION_FILE = "study.json"


@dataclass(frozen=True)
class StudyResults:
    """A study's table (one flat dict per job), its summary and the files they were written to."""

    name: str
    table: list[dict[str, Any]]
    summary: StudySummary
    files: list[Path]


def outcomes(jobs: list[Job]) -> list[JobOutcome]:
    return [
        JobOutcome(
            spec=job_spec(job),
            state=job.state.value,
            result=FitResult.from_dict(job.result) if job.result else None,
            error=job.last_error if job.state is not JobState.SUCCEEDED else None,
        )
        for job in jobs
    ]


def write_study_results(store: Store, study_id: int, directory: Path) -> StudyResults:
    """Write ``results.csv``, ``results.json``, ``summary.json`` and plots of the study into ``directory``."""
    with store.session() as session:
        study = session.get_one(Study, study_id)
        jobs = list_jobs(session, JobFilter(study_id=study_id), limit=1_000_000)
        name, definition = study.name, dict(study.definition)
    found = outcomes(jobs)
    label = None
    if definition:
        try:
            label = order_label(study_from_dict(definition, directory))
        except MetagenxError:
            label = None  # a copied folder may lack the data files; trends are then by file order
    targets = watch_targets(definition)
    files = write_study_outputs(directory, found, order_label=label, targets=targets)
    rows = table_rows(found, targets)
    return StudyResults(name, table(rows), summarize(rows), files)


def watch_targets(definition: dict[str, Any]) -> dict[str, float] | None:
    """A watch's targets (parameter → σ wanted; its table then has the advice columns), None for
    other studies."""
    if definition.get("kind") != "watch":
        return None
    targets = definition.get("targets") or {}
    return {str(k): float(v) for k, v in targets.items()} if isinstance(targets, dict) else {}


def open_study(directory: Path, db: str | None) -> tuple[Store, int]:
    """The store of a study folder and the id of its study (named in the folder's ``study.json``)."""
    definition_file = directory / DEFINITION_FILE
    if not definition_file.exists():
        raise MetagenxError(f"{directory} is not a study folder: it has no {DEFINITION_FILE}")
    name = json.loads(definition_file.read_text())["name"]
    if db is None and not (directory / "metagenx.db").exists():
        raise MetagenxError(f"{directory} has no metagenx.db; give the job store with --db")
    store = open_store(db, directory)
    with store.session() as session:
        study = session.query(Study).filter_by(name=name).order_by(Study.id.desc()).first()
        if study is None:
            store.close()
            raise MetagenxError(f"the job store has no study named {name!r}")
        return store, study.id


def results_from_folder(directory: Path, db: str | None) -> StudyResults:
    store, study_id = open_study(directory, db)
    try:
        return write_study_results(store, study_id, directory)
    finally:
        store.close()


def summary_tables(results: StudyResults) -> list[Table]:
    """Rich tables: the summary (counts, best fit, success rate) and parameter statistics."""
    summary = results.summary
    head = Table(title=f"Study {results.name}", show_header=False)
    head.add_row("jobs", ", ".join(f"{n} {state}" for state, n in summary.counts.items()))
    if summary.best_fom is not None:
        head.add_row("best fit", f"{summary.best_label}: FOM {summary.best_fom:.6g}")
    if summary.success_rate is not None:
        head.add_row("success rate", f"{summary.success_rate:.0%} of starts within 1% of the best FOM")
    tables = [head]
    if summary.parameters:
        stats = Table("parameter", "mean", "std", "min", "max", "starts", title="Converged starts")
        for p in summary.parameters:
            stats.add_row(
                p.name, f"{p.mean:.6g}", f"{p.std:.3g}", f"{p.min:.6g}", f"{p.max:.6g}", str(p.count)
            )
        tables.append(stats)
    elif summary.problems:
        names = list(summary.problems[0].best_values)[:6]
        trend = Table("data", "FOM", *names, title="Best fit per data file")
        for problem in summary.problems:
            values = [f"{problem.best_values.get(n, float('nan')):.5g}" for n in names]
            trend.add_row(problem.data_file or problem.problem, f"{problem.best_fom:.5g}", *values)
        tables.append(trend)
    return tables


def print_status(console: Console, directory: Path, db: str | None) -> None:
    """Counts by state and the latest progress of each running job."""
    store, study_id = open_study(directory, db)
    try:
        with store.session() as session:
            counts = counts_by_state(session, study_id)
            running = list_jobs(session, JobFilter(study_id=study_id, states=[JobState.RUNNING]), limit=100)
            table = Table("job", "generation", "best FOM", title="Running")
            for job in running:
                progress = [e for e in events_after(session, job.id) if e.kind is EventKind.PROGRESS]
                last = progress[-1] if progress else None
                table.add_row(
                    job.label or str(job.id),
                    str(last.generation) if last else "–",
                    f"{last.best_fom:.6g}" if last and last.best_fom is not None else "–",
                )
        console.print(", ".join(f"{n} {state.value}" for state, n in counts.items()))
        if running:
            console.print(table)
    finally:
        store.close()
