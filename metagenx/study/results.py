"""A study's results as a table and a summary (pure functions), and their files (CSV, JSON).

One :class:`ResultRow` per job. The summary groups jobs into *problems*: jobs that fit
the same data file with the same bounds and fit flags; seeds, optimizer settings and
start values are different *starts* of one problem. A start has *converged* when its FOM
is within ``tolerance`` (1 %) of the best FOM of its problem; the success rate is the
fraction of succeeded starts that converged, and parameter statistics are taken over
converged starts.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.result import FitResult, finite_or_none
from metagenx.errors import OutputError
from metagenx.jobs import JobSpec
from metagenx.outputs.files import Staging, write_atomic
from metagenx.study.definition import StudyDefinition

TOLERANCE = 0.01
"""A start within this fraction of its problem's best FOM counts as converged."""
SUCCEEDED = "succeeded"
OWN_COLUMNS = ("seed", "data_file", "data_path", "order_value", "file_index")
"""Axes with a column of their own (not repeated among the axis columns)."""
PROBLEM_AXES = ("min:", "max:", "fit:")
"""Axis prefixes that change the problem (bounds, fit flags), not just the start."""


@dataclass(frozen=True)
class JobOutcome:
    """What became of one job: its state (queued, running, succeeded, failed, cancelled), result, error."""

    spec: JobSpec
    state: str
    result: FitResult | None = None
    error: str | None = None


@dataclass(frozen=True)
class ResultRow:
    """One job in the study table. ``fom`` is the figure of merit, ``wall_time`` in seconds."""

    label: str
    state: str
    seed: int | None
    axes: dict[str, Any]
    data_file: str | None = None
    order_value: float | None = None
    file_index: int | None = None
    fom: float | None = None
    parameters: dict[str, float] = field(default_factory=dict)
    generations: int | None = None
    evaluations: int | None = None
    wall_time: float | None = None
    stop_reason: str | None = None
    error: str | None = None
    complete: bool | None = None
    """Whether the values are a finished fit's (False: the best found before it was cut short,
    e.g. a cancelled job's); None without a result."""
    advice: dict[str, Any] = field(default_factory=dict)
    """A watch's advice columns (:func:`advice_columns`), empty for other studies."""

    @property
    def succeeded(self) -> bool:
        """A finished, complete fit: the only rows counted in summaries and success rates."""
        return (
            self.state == SUCCEEDED
            and self.complete is not False
            and self.fom is not None
            and math.isfinite(self.fom)
        )

    @property
    def problem(self) -> str:
        """The group this start belongs to: data file plus bound/fit-flag axes ("" for a single problem)."""
        parts = [self.data_file or ""]
        parts += [f"{k}={v}" for k, v in self.axes.items() if k.startswith(PROBLEM_AXES)]
        return " ".join(p for p in parts if p)


def result_row(
    spec: JobSpec,
    state: str,
    result: FitResult | None = None,
    error: str | None = None,
    targets: Mapping[str, float] | None = None,
) -> ResultRow:
    """The table row of one job; a result's own error message is used when ``error`` is None.

    ``targets`` (a watch's: parameter → σ wanted, possibly none) adds the advice columns."""
    axes = dict(spec.axes)
    order = axes.get("order_value")
    base = ResultRow(
        label=spec.label,
        state=str(state),
        seed=spec.seed if "seed" in spec.settings else None,
        axes={k: v for k, v in axes.items() if k not in OWN_COLUMNS},
        data_file=axes.get("data_file"),
        order_value=None if order is None else float(order),
        file_index=axes.get("file_index"),
        error=error,
    )
    return base if result is None else with_result(base, result, targets)


def advice_columns(result: FitResult, targets: Mapping[str, float]) -> dict[str, Any]:
    """``sigma:<name>`` (the advisor's predicted σ now), ``verdict:<name>`` per target,
    ``posterior_ratio:<name>`` (predicted σ / posterior std, when sampled) and ``advice``."""
    from metagenx.engine.advice import advice_from, advice_line, verdicts

    advice = advice_from(result.extra)
    if advice is None:
        return {}
    columns: dict[str, Any] = {f"sigma:{p.name}": p.sigma for p in advice.parameters}
    columns |= {f"verdict:{n}": v.text for n, v in verdicts(advice, targets).items()}
    columns |= {f"posterior_ratio:{c.name}": c.ratio for c in advice.posterior}
    return columns | {"advice": advice_line(advice, targets)}


def with_result(row: ResultRow, result: FitResult, targets: Mapping[str, float] | None = None) -> ResultRow:
    """``row`` with the result's FOM, fitted values, generations, evaluations, time and stop reason."""
    values = asdict(row)
    values.update(
        fom=float(result.fom),
        parameters={p.name: float(p.value) for p in result.parameters},
        generations=result.generations,
        evaluations=result.evaluations,
        wall_time=result.wall_time,
        stop_reason=str(result.stop_reason),
        error=row.error or result.error_message,
        complete=result.complete,
        advice=advice_columns(result, targets) if targets is not None else {},
    )
    return ResultRow(**values)


def table_rows(outcomes: Iterable[JobOutcome], targets: Mapping[str, float] | None = None) -> list[ResultRow]:
    """One row per job, in the order given (a watch's, with ``targets``: with the advice columns)."""
    return [result_row(o.spec, o.state, o.result, o.error, targets) for o in outcomes]


def columns(rows: Sequence[ResultRow]) -> list[str]:
    """Column names: label, state, seed, each axis, data file, order value, FOM, each parameter, …"""
    axes = list(dict.fromkeys(k for r in rows for k in r.axes))
    parameters = list(dict.fromkeys(k for r in rows for k in r.parameters))
    fixed = ["label", "state", "complete", "seed", *axes, "data_file", "order_value", "fom"]
    tail = ["generations", "evaluations", "wall_time", "stop_reason", "error"]
    advice = list(dict.fromkeys(k for r in rows for k in r.advice))
    return fixed + [parameter_column(p, fixed + tail) for p in parameters] + advice + tail


def parameter_column(name: str, taken: Sequence[str]) -> str:
    return f"parameter:{name}" if name in taken else name


def flat(row: ResultRow, names: Sequence[str]) -> dict[str, Any]:
    """``row`` as one flat dict with every column in ``names`` (missing values None)."""
    values: dict[str, Any] = {
        "label": row.label,
        "state": row.state,
        "complete": row.complete,
        "seed": row.seed,
        **row.axes,
        "data_file": row.data_file,
        "order_value": row.order_value,
        "fom": row.fom,
        "generations": row.generations,
        "evaluations": row.evaluations,
        "wall_time": row.wall_time,
        "stop_reason": row.stop_reason,
        "error": row.error,
        **row.advice,
    }
    fixed = [n for n in names if n not in row.parameters]
    for name, value in row.parameters.items():
        values[parameter_column(name, [n for n in fixed if not n.startswith("parameter:")])] = value
    return {name: values.get(name) for name in names}


def table(rows: Sequence[ResultRow]) -> list[dict[str, Any]]:
    """The study table as flat dicts, every row with every column."""
    names = columns(rows)
    return [flat(r, names) for r in rows]


def csv_text(rows: Sequence[ResultRow]) -> str:
    """The table as CSV (header line first; empty cells for missing values; floats in full precision)."""
    names = columns(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in flat(row, names).items()})
    return buffer.getvalue()


def json_text(rows: Sequence[ResultRow], summary: StudySummary | None = None) -> str:
    """``{"columns": [...], "rows": [...], "summary": {...}}`` as strict JSON (NaN/inf → null)."""
    document: dict[str, Any] = {"columns": columns(rows), "rows": table(rows)}
    if summary is not None:
        document["summary"] = summary.to_dict()
    return json.dumps(finite_or_none(document), indent=2, allow_nan=False, default=str)


def write_csv(rows: Sequence[ResultRow], path: str | Path) -> Path:
    """Write the table atomically; :class:`OutputError` on failure."""
    return write_atomic(Path(path), csv_text(rows).encode())


def write_json(rows: Sequence[ResultRow], path: str | Path, summary: StudySummary | None = None) -> Path:
    """Write the table (and summary) atomically as JSON; :class:`OutputError` on failure."""
    return write_atomic(Path(path), json_text(rows, summary).encode())


@dataclass(frozen=True)
class ParameterStats:
    """A fitted parameter over the converged starts of one problem (``std``: sample std, 0 for one start)."""

    name: str
    mean: float
    std: float
    min: float
    max: float
    count: int


@dataclass(frozen=True)
class ProblemSummary:
    """The starts of one problem (one data file, one set of bounds)."""

    problem: str
    data_file: str | None
    order_value: float | None
    file_index: int | None
    starts: int
    converged: int
    success_rate: float
    best_label: str
    best_fom: float
    best_values: dict[str, float]
    parameters: list[ParameterStats]


@dataclass(frozen=True)
class StudySummary:
    """A study at a glance. ``success_rate``: converged / succeeded starts over all problems."""

    jobs: int
    counts: dict[str, int]
    tolerance: float
    best_label: str | None
    best_fom: float | None
    best_values: dict[str, float]
    success_rate: float | None
    parameters: list[ParameterStats]
    """Statistics of the single problem of a study without batch data (else per problem)."""
    problems: list[ProblemSummary]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> StudySummary:
        """The summary from :meth:`to_dict`'s form (as the server sends it; its own keys only)."""

        def stats(items: list[dict[str, Any]]) -> list[ParameterStats]:
            return [ParameterStats(**item) for item in items]

        problems = [
            ProblemSummary(**{**problem, "parameters": stats(problem["parameters"])})
            for problem in values["problems"]
        ]
        own = {k: values[k] for k in cls.__dataclass_fields__ if k not in ("parameters", "problems")}
        return cls(**own, parameters=stats(values["parameters"]), problems=problems)


def summarize(rows: Sequence[ResultRow], tolerance: float = TOLERANCE) -> StudySummary:
    """Best fit, success rate, counts by state and, per problem, statistics of converged starts."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    groups: dict[str, list[ResultRow]] = {}
    for row in rows:
        if row.succeeded:
            groups.setdefault(row.problem, []).append(row)
    problems = [summarize_problem(key, members, tolerance) for key, members in groups.items()]
    problems.sort(key=lambda p: (p.file_index is None, p.file_index or 0, p.problem))
    best = min(problems, key=lambda p: p.best_fom) if len(problems) == 1 else None
    starts = sum(p.starts for p in problems)
    return StudySummary(
        jobs=len(rows),
        counts=counts,
        tolerance=tolerance,
        best_label=best.best_label if best else None,
        best_fom=best.best_fom if best else None,
        best_values=best.best_values if best else {},
        success_rate=sum(p.converged for p in problems) / starts if starts else None,
        parameters=best.parameters if best else [],
        problems=problems,
    )


def summarize_problem(key: str, rows: list[ResultRow], tolerance: float) -> ProblemSummary:
    best = min(rows, key=lambda r: r.fom if r.fom is not None else math.inf)
    best_fom = float(best.fom if best.fom is not None else math.nan)
    limit = best_fom + tolerance * abs(best_fom)
    converged = [r for r in rows if r.fom is not None and r.fom <= limit]
    names = list(dict.fromkeys(k for r in converged for k in r.parameters))
    stats = []
    for name in names:
        values = np.array([r.parameters[name] for r in converged if name in r.parameters], dtype=float)
        std = float(values.std(ddof=1)) if values.size > 1 else 0.0
        stats.append(
            ParameterStats(
                name, float(values.mean()), std, float(values.min()), float(values.max()), values.size
            )
        )
    return ProblemSummary(
        problem=key,
        data_file=best.data_file,
        order_value=best.order_value,
        file_index=best.file_index,
        starts=len(rows),
        converged=len(converged),
        success_rate=len(converged) / len(rows),
        best_label=best.label,
        best_fom=best_fom,
        best_values=dict(best.parameters),
        parameters=stats,
    )


def order_label(definition: StudyDefinition) -> str | None:
    """What a batch study's files are ordered by, for axis labels: ``temperature (file header)``."""
    batch = definition.data
    if batch is None or batch.order_kind == "name":
        return None
    return f"{batch.order_key} ({'file header' if batch.order_kind == 'header' else 'column mean'})"


def write_study_outputs(
    folder: str | Path,
    outcomes: Iterable[JobOutcome],
    *,
    plots: bool = True,
    order_label: str | None = None,
    targets: Mapping[str, float] | None = None,
) -> list[Path]:
    """Write ``results.csv``, ``results.json`` (table and summary), ``summary.json`` and the plots.

    ``order_label`` names the x axis of the parameter trends (see :func:`order_label`);
    ``targets`` (a watch's, possibly none) adds the advice columns (:func:`advice_columns`).
    All files are replaced together or not at all; :class:`OutputError` on failure.
    """
    from metagenx.study.plots import fom_distribution_png, parameter_trends_png

    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {target}: {exc.strerror or exc}") from exc
    rows = table_rows(outcomes, targets)
    summary = summarize(rows)
    staging = Staging()
    try:
        staging.add_bytes(target / "results.csv", csv_text(rows).encode())
        staging.add_bytes(target / "results.json", json_text(rows, summary).encode())
        summary_json = json.dumps(finite_or_none(summary.to_dict()), indent=2, allow_nan=False)
        staging.add_bytes(target / "summary.json", summary_json.encode())
        if plots:
            staging.add_bytes(target / "fom_distribution.png", lambda: fom_distribution_png(rows, summary))
            trends = parameter_trends_png(rows, summary, order_label)
            if trends is not None:
                staging.add_bytes(target / "parameter_trends.png", trends)
    except BaseException:
        staging.discard()
        raise
    return staging.commit()
