"""A stored study's results: read its jobs from the store, write its tables and plots, show them."""

from __future__ import annotations

import json
import math
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
    order_axis_label,
    order_label,
    order_unit,
    study_shape,
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
    targets = watch_targets(definition)
    rows = table_rows(found, targets)
    unit = order_unit(rows)
    label = None
    if definition.get("kind") == "watch":
        label = order_axis_label(str(definition.get("order", "name")), unit)
    elif definition:
        try:
            label = order_label(study_from_dict(definition, directory), unit)
        except MetagenxError:
            label = None  # a copied folder may lack the data files; trends are then by file order
    shape = study_shape(definition) if definition else None
    files = write_study_outputs(directory, found, order_label=label, targets=targets, shape=shape)
    return StudyResults(name, table(rows), summarize(rows, shape=shape), files)


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
    """Rich tables that fit the study's shape: counts and the best fit; for repeats the success
    rate and statistics of converged starts; for a sweep the FOM per settings point and the best
    point; for a batch or series a file × parameter table (no success rate: one start per file)."""
    summary = results.summary
    head = Table(title=f"Study {results.name}", show_header=False)
    head.add_row("jobs", ", ".join(f"{n} {state}" for state, n in summary.counts.items()))
    if summary.best_fom is not None:
        head.add_row("best fit", f"{summary.best_label}: FOM {summary.best_fom:.6g}")
    if summary.shape == "sweep":
        if summary.best_point is not None:
            head.add_row(
                "best point", f"{summary.best_point} (highest success share, then lowest median FOM)"
            )
        return [head, points_table(summary)]
    if summary.shape == "batch":
        return [head, *([files_table(summary)] if summary.problems else [])]
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
        tables.append(files_table(summary))
    return tables


def points_table(summary: StudySummary) -> Table:
    """One row per settings point: starts, FOM min/median/max, share within the tolerance of the best."""
    table = Table(
        "settings",
        "starts",
        "FOM min",
        "FOM median",
        "FOM max",
        f"within {summary.tolerance:.0%} of best",
        title="FOM per settings point",
    )

    def number(value: float | None) -> str:
        return "–" if value is None else f"{value:.5g}"

    for point in summary.points:
        mark = " (best)" if point.label == summary.best_point else ""
        table.add_row(
            point.label + mark,
            f"{point.succeeded}/{point.starts}",
            number(point.fom_min),
            number(point.fom_median),
            number(point.fom_max),
            f"{point.success_share:.0%}",
        )
    return table


def files_table(summary: StudySummary, limit: int = 6) -> Table:
    """The best fit of each data file: order value, FOM and the first ``limit`` parameters (± error
    bars when the fits have them; the caption says from what)."""
    names = list(dict.fromkeys(n for p in summary.problems for n in p.best_values))[:limit]
    ordered = any(p.order_value is not None for p in summary.problems)
    sources = {p.error_source for p in summary.problems if p.error_source}
    unit = next((p.order_unit for p in summary.problems if p.order_unit), None)
    order = [f"order ({unit})" if unit else "order"] if ordered else []
    table = Table(
        "data",
        *order,
        "FOM",
        *names,
        title="Best fit per data file",
        caption=f"error bars: {'; '.join(sorted(sources))}" if sources else None,
    )
    for problem in summary.problems:
        cells = []
        for name in names:
            value = problem.best_values.get(name, float("nan"))
            error = problem.best_errors.get(name)
            cells.append(f"{value:.5g}" + (f" ± {plus_minus(error)}" if error else ""))
        shown = [f"{problem.order_value:.6g}" if problem.order_value is not None else ""] if ordered else []
        table.add_row(problem.data_file or problem.problem, *shown, f"{problem.best_fom:.5g}", *cells)
    return table


def plus_minus(error: tuple[float, float] | list[float]) -> str:
    """``0.3`` for a symmetric error bar, ``-0.2/+0.4`` for an asymmetric one."""
    low, high = float(error[0]), float(error[1])
    if math.isclose(low, high, rel_tol=0.05):
        return f"{max(low, high):.2g}"
    return f"-{low:.2g}/+{high:.2g}"


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
