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
OWN_COLUMNS = ("seed", "data_file", "data_path", "order_value", "order_unit", "file_index")
"""Axes with a column of their own (not repeated among the axis columns)."""
PROBLEM_AXES = ("min:", "max:", "fit:")
"""Axis prefixes that change the problem (bounds, fit flags), not just the start."""
NOT_SETTINGS = ("repeat", "sha256", "start:")
"""Axes (names or prefixes) that are not optimizer settings; every other axis not in
:data:`OWN_COLUMNS` or :data:`PROBLEM_AXES` is a setting of a grid or random sweep."""
POSTERIOR_ERRORS = "posterior 68 % interval (DREAM)"
JACOBIAN_ERRORS = "±1σ from the Jacobian covariance (linear approximation)"
GENX_ERRORS = "GenX's error bars"
SHAPES = ("repeats", "sweep", "batch")
"""What a study is: repeats of one problem (success rate and spread), a sweep of optimizer
settings (FOM per settings point, the best point) or a batch/series of data files (a file ×
parameter table and trends)."""


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
    order_unit: str | None = None
    """The unit of ``order_value`` when its file header gives one (``K``)."""
    errors: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Each parameter's error bar as distances (below, above) ≥ 0 from its value, in its own unit."""
    error_source: str | None = None
    """Where ``errors`` come from (:data:`POSTERIOR_ERRORS`, :data:`JACOBIAN_ERRORS`, :data:`GENX_ERRORS`)."""

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
        order_unit=None if axes.get("order_unit") is None else str(axes["order_unit"]),
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


def parameter_errors(result: FitResult) -> tuple[dict[str, tuple[float, float]], str | None]:
    """Each parameter's error bar (below, above), as distances ≥ 0 from its value, and their source.

    The posterior's 68 % interval when the fit was sampled (asymmetric), else ±σ of the
    Jacobian covariance (a linear approximation), else GenX's own error bars when computed;
    ``({}, None)`` without any.
    """
    values = {p.name: float(p.value) for p in result.parameters}

    def finite(*numbers: Any) -> bool:
        return all(isinstance(n, int | float) and math.isfinite(n) for n in numbers)

    posterior = result.extra.get("posterior")
    entries = posterior.get("parameters") if isinstance(posterior, dict) else None
    errors: dict[str, tuple[float, float]] = {}
    for entry in entries if isinstance(entries, list) else []:
        name, p68 = entry.get("name") if isinstance(entry, dict) else None, None
        if name in values:
            p68 = entry.get("p68")
        if isinstance(p68, list | tuple) and len(p68) == 2 and finite(*p68):
            value = values[str(name)]
            errors[str(name)] = (max(value - float(p68[0]), 0.0), max(float(p68[1]) - value, 0.0))
    if errors:
        return errors, POSTERIOR_ERRORS
    covariance = result.extra.get("covariance")
    names = covariance.get("names") if isinstance(covariance, dict) else None
    sigma = covariance.get("sigma") if isinstance(covariance, dict) else None
    if isinstance(names, list) and isinstance(sigma, list) and len(names) == len(sigma):
        errors = {
            str(n): (float(s), float(s))
            for n, s in zip(names, sigma, strict=True)
            if n in values and finite(s)
        }
    if errors:
        return errors, JACOBIAN_ERRORS
    errors = {
        p.name: (abs(float(p.error_low)), abs(float(p.error_high)))
        for p in result.parameters
        if p.error_low is not None
        and p.error_high is not None
        and finite(p.error_low, p.error_high)
        and (p.error_low != 0 or p.error_high != 0)
    }
    return (errors, GENX_ERRORS) if errors else ({}, None)


def with_result(row: ResultRow, result: FitResult, targets: Mapping[str, float] | None = None) -> ResultRow:
    """``row`` with the result's FOM, fitted values, error bars, generations, evaluations, time and
    stop reason."""
    values = asdict(row)
    errors, source = parameter_errors(result)
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
        errors=errors,
        error_source=source,
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
    order_unit: str | None = None
    best_errors: dict[str, tuple[float, float]] = field(default_factory=dict)
    """The best start's error bars (below, above), see :attr:`ResultRow.errors`."""
    error_source: str | None = None


@dataclass(frozen=True)
class PointSummary:
    """The starts of one settings point of a sweep: FOM min/median/max over its succeeded starts and
    its success share (succeeded starts within the tolerance of their problem's best FOM in the
    whole study, over its starts)."""

    label: str
    settings: dict[str, Any]
    starts: int
    succeeded: int
    converged: int
    success_share: float
    fom_min: float | None
    fom_median: float | None
    fom_max: float | None
    best_label: str | None


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
    shape: str = "repeats"
    """One of :data:`SHAPES`; a batch has no success rate (None)."""
    points: list[PointSummary] = field(default_factory=list)
    """A sweep's settings points, in study order (empty for other shapes)."""
    best_point: str | None = None
    """The sweep's best point: the highest success share, then the lowest median FOM."""

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
        points = [PointSummary(**point) for point in values.get("points", [])]
        lists = ("parameters", "problems", "points")
        own = {k: values[k] for k in cls.__dataclass_fields__ if k not in lists and k in values}
        return cls(**own, parameters=stats(values["parameters"]), problems=problems, points=points)


def study_shape(definition: Mapping[str, Any]) -> str:
    """The shape (:data:`SHAPES`) of a study from its plain definition (a study's ``to_dict()`` or a
    watch's): data files make a batch; a grid with more than one point or random settings a
    sweep; anything else repeats of one problem."""
    if definition.get("kind") == "watch" or definition.get("data"):
        return "batch"
    grid = definition.get("grid") or {}
    if definition.get("random") or any(isinstance(v, list) and len(v) > 1 for v in grid.values()):
        return "sweep"
    return "repeats"


def shape_of_rows(rows: Sequence[ResultRow]) -> str:
    """The shape guessed from the table alone (when the definition is not at hand)."""
    if any(r.data_file is not None for r in rows):
        return "batch"
    points = {tuple(sorted(settings_of(r).items(), key=str)) for r in rows}
    return "sweep" if len(points) > 1 else "repeats"


def settings_of(row: ResultRow) -> dict[str, Any]:
    """The row's optimizer-settings axes (a sweep's point)."""
    return {
        k: v
        for k, v in row.axes.items()
        if not k.startswith(PROBLEM_AXES) and not k.startswith(NOT_SETTINGS) and k not in OWN_COLUMNS
    }


def point_label(row: ResultRow) -> str:
    """The row's settings point as text (``km=0.7 pop_mult=10``; ``defaults`` without settings axes)."""
    point = settings_of(row)
    text = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())
    return text or "defaults"


def summarize(
    rows: Sequence[ResultRow], tolerance: float = TOLERANCE, shape: str | None = None
) -> StudySummary:
    """Best fit, success rate, counts by state and, per problem, statistics of converged starts.

    ``shape`` (:data:`SHAPES`; guessed from the rows when None) adds a sweep's settings points
    and leaves a batch without a success rate.
    """
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
    shape = shape or shape_of_rows(rows)
    points = summarize_points(rows, problems, tolerance) if shape == "sweep" else []
    ranked = sorted(
        (p for p in points if p.fom_median is not None), key=lambda p: (-p.success_share, p.fom_median)
    )
    return StudySummary(
        jobs=len(rows),
        counts=counts,
        tolerance=tolerance,
        best_label=best.best_label if best else None,
        best_fom=best.best_fom if best else None,
        best_values=best.best_values if best else {},
        success_rate=sum(p.converged for p in problems) / starts if starts and shape != "batch" else None,
        parameters=best.parameters if best else [],
        problems=problems,
        shape=shape,
        points=points,
        best_point=ranked[0].label if ranked else None,
    )


def summarize_points(
    rows: Sequence[ResultRow], problems: Sequence[ProblemSummary], tolerance: float
) -> list[PointSummary]:
    """One :class:`PointSummary` per settings point, in the order the rows first show it."""
    best = {p.problem: p.best_fom for p in problems}
    groups: dict[str, list[ResultRow]] = {}
    settings: dict[str, dict[str, Any]] = {}
    for row in rows:
        label = point_label(row)
        groups.setdefault(label, []).append(row)
        settings.setdefault(label, settings_of(row))
    points = []
    for label, members in groups.items():
        done = [r for r in members if r.succeeded]
        foms = np.array([float(r.fom) for r in done if r.fom is not None])
        converged = [
            r
            for r in done
            if r.fom is not None and r.fom <= best[r.problem] + tolerance * abs(best[r.problem])
        ]
        top = min(done, key=lambda r: r.fom if r.fom is not None else math.inf) if done else None
        points.append(
            PointSummary(
                label=label,
                settings=settings[label],
                starts=len(members),
                succeeded=len(done),
                converged=len(converged),
                success_share=len(converged) / len(members),
                fom_min=float(foms.min()) if foms.size else None,
                fom_median=float(np.median(foms)) if foms.size else None,
                fom_max=float(foms.max()) if foms.size else None,
                best_label=top.label if top else None,
            )
        )
    return points


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
        order_unit=best.order_unit,
        best_errors=dict(best.errors),
        error_source=best.error_source,
    )


def order_label(definition: StudyDefinition, unit: str | None = None) -> str | None:
    """What a batch study's files are ordered by, for axis labels: ``temperature (K)`` with the
    unit the headers give (:func:`order_unit`), else ``temperature (file header)``."""
    batch = definition.data
    return None if batch is None else order_axis_label(batch.order, unit)


def order_axis_label(order: str, unit: str | None = None) -> str | None:
    """The trend plots' x-axis label for an ``order`` (``name``, ``header:<key>``, ``column:<key>``):
    the key and its unit (``temperature (K)``), or the key and where it comes from when the unit
    is unknown (``temperature (file header)``); None for ``name`` (file order)."""
    kind, _, key = order.partition(":")
    if kind == "name" or not key:
        return None
    if unit:
        return f"{key} ({unit})"
    return f"{key} ({'file header' if kind == 'header' else 'column mean'})"


def order_unit(rows: Iterable[ResultRow]) -> str | None:
    """The order values' unit when every row that has one gives the same, else None."""
    units = {r.order_unit for r in rows if r.order_value is not None}
    return units.pop() if len(units) == 1 else None


def write_study_outputs(
    folder: str | Path,
    outcomes: Iterable[JobOutcome],
    *,
    plots: bool = True,
    order_label: str | None = None,
    targets: Mapping[str, float] | None = None,
    shape: str | None = None,
) -> list[Path]:
    """Write ``results.csv``, ``results.json`` (table and summary), ``summary.json`` and the plots.

    ``order_label`` names the x axis of the parameter trends (see :func:`order_label`);
    ``targets`` (a watch's, possibly none) adds the advice columns (:func:`advice_columns`);
    ``shape`` (:func:`study_shape`; guessed from the rows when None) chooses the summary.
    All files are replaced together or not at all; :class:`OutputError` on failure.
    """
    from metagenx.study.plots import fom_distribution_png, parameter_trends_png

    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {target}: {exc.strerror or exc}") from exc
    rows = table_rows(outcomes, targets)
    summary = summarize(rows, shape=shape)
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
