"""The jobs of a watch, shared by the local watch and the server's: one job per data file, by content.

A file whose bytes a job of the watch already has is not queued again; a file rewritten
with new content is. In a sequential watch each new job starts from the fitted values of
the latest earlier job that has not failed or been cancelled, and the jobs cancelled because
the job they started from failed (an unreadable file) are queued again from the one before
(by the controller, :func:`metagenx.controller.writes.relink_orphans`): one bad file never
stalls the files after it.
:func:`series_rows` is the watch as a table, one row per file.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from metagenx.controller.writes import add_to_study, latest_live, study_jobs
from metagenx.engine.settings import FitSettings
from metagenx.errors import DataFileError, SettingsError
from metagenx.jobs import DataAssignment, JobKind, JobSpec
from metagenx.solve.job_settings import SOLVE_KEY
from metagenx.store import Job, JobState, Study
from metagenx.study.submit import new_job

ORDER_KINDS = ("name", "header", "column")
"""How a watch's files are placed along the trend plots' x axis: arrival order (``name``), a
number in the file header (``header:temperature``) or a column's mean (``column:T``)."""


@dataclass(frozen=True)
class FileFit:
    """How each data file of a watch is fitted.

    Attributes:
        template: path of the template model (``.hgx``/``.gx``) each file is loaded into.
        dataset: the template's data set (index or name) the file replaces.
        loader: GenX data loader name; ``loader_options`` its settings.
        settings: fit settings of every job (a missing seed becomes 1: fits are repeatable).
        sequential: each fit starts from the previous file's fitted values.
        template_sha256: the template's SHA-256 when already known (else read from the file).
        solve: solve settings (see :mod:`metagenx.solve.job_settings`): each file is solved
            (raced starts until confident) rather than fitted once; None: one fit per file.
    """

    template: str
    dataset: int | str = 0
    loader: str = "auto"
    loader_options: Mapping[str, Any] = field(default_factory=dict)
    settings: FitSettings = field(default_factory=FitSettings)
    sequential: bool = False
    template_sha256: str | None = None
    solve: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class DataFile:
    """A complete data file to fit: where it is, its display name, SHA-256 and order value (if any)."""

    path: str
    label: str
    sha256: str
    order_value: float | None = None
    order_unit: str | None = None
    """The order value's unit when the file header gives one (``K``)."""


def check_order(order: str) -> str:
    """``order`` if it is ``name``, ``header:<key>`` or ``column:<name or index>``, else DataFileError."""
    kind, _, key = order.partition(":")
    if kind not in ORDER_KINDS or (kind == "name") != (key == ""):
        raise DataFileError(
            f"order {order!r} is not understood: use 'name', 'header:<key>' (e.g. header:temperature) "
            "or 'column:<name or index>'"
        )
    return order


def order_label(order: str, unit: str | None = None) -> str | None:
    """The x-axis label of the trend plots for ``order`` (None: arrival order): the key and its
    unit when known (``temperature (K)``), else the key and where it is read."""
    from metagenx.study.results import order_axis_label

    return order_axis_label(order, unit)


def read_order_value(path: str | os.PathLike[str], order: str, options: Mapping[str, Any]) -> float | None:
    """The file's order value for ``order`` (None for ``name``); :class:`DataFileError` saying why not.

    Only reads the file's text (comment lines, or the columns for ``column:``); ``options``
    are the loader options (their ``comment`` and ``delimiter`` apply to columns).
    """
    return read_order_quantity(path, order, options)[0]


def read_order_quantity(
    path: str | os.PathLike[str], order: str, options: Mapping[str, Any]
) -> tuple[float | None, str | None]:
    """:func:`read_order_value` and the value's unit (a header's, when it gives one; else None)."""
    from metagenx.engine.data import column_value, read_header_quantity

    kind, _, key = check_order(order).partition(":")
    if kind == "header":
        return read_header_quantity(path, key)
    if kind == "column":
        delimiter = options.get("delimiter")
        value = column_value(
            path,
            int(key) if key.isdigit() else key,
            comment=str(options.get("comment", "#")),
            delimiter=None if delimiter is None else str(delimiter),
        )
        return value, None
    return None, None


def watch_jobs(session: Session, study_id: int, *, results: bool = True) -> list[Job]:
    """The watch's jobs in arrival order (``results=False``: their results are not read)."""
    return study_jobs(session, study_id, results=results)


def same_content(jobs: Sequence[Job], sha256: str) -> Job | None:
    """The job among ``jobs`` that fits exactly these bytes, if there is one."""
    return next((job for job in jobs if list(job.data_sha256) == [sha256]), None)


def file_spec(fit: FileFit, data: DataFile, index: int) -> JobSpec:
    """The study job fitting ``data`` as the ``index``-th file of the watch (counting from 0)."""
    settings = fit.settings
    axes: dict[str, Any] = {"data_file": data.label, "file_index": index, "sha256": data.sha256[:12]}
    if data.order_value is not None:
        axes["order_value"] = data.order_value
        if data.order_unit is not None:
            axes["order_unit"] = data.order_unit
    return JobSpec(
        kind=JobKind.FIT if fit.solve is None else JobKind.SOLVE,
        label=data.label,
        model_path=fit.template,
        settings=settings.replace(seed=settings.seed if settings.seed is not None else 1).to_dict()
        | ({SOLVE_KEY: dict(fit.solve)} if fit.solve is not None else {}),
        data=[DataAssignment(fit.dataset, data.path, fit.loader, dict(fit.loader_options))],
        sequence=index if fit.sequential else None,
        axes=axes,
    )


def queue_file(session: Session, study: Study, fit: FileFit, data: DataFile) -> tuple[Job, bool]:
    """The job of ``data`` in watch ``study``: (existing job, False) when a job already has its
    bytes, else (new queued job, True). Call it with one writer per watch at a time."""
    jobs = watch_jobs(session, study.id, results=False)
    existing = same_content(jobs, data.sha256)
    if existing is not None:
        return existing, False
    checksums = {data.path: data.sha256}
    if fit.template_sha256 is not None:
        checksums[fit.template] = fit.template_sha256
    stored = new_job(file_spec(fit, data, len(jobs)), checksums)
    previous = latest_live(jobs) if fit.sequential else None
    if previous is not None:
        stored = dataclasses.replace(stored, depends_on=previous.key)
    return add_to_study(session, study, [stored])[0], True


@dataclass(frozen=True)
class SeriesRow:
    """One file of a watch: its job, state, FOM (None until fitted), fitted values, why it failed.

    ``seeded_from`` is the job whose fitted values a sequential fit starts from.
    """

    job_id: int
    label: str
    file_index: int | None
    sha256: str | None
    order_value: float | None
    state: str
    fom: float | None
    parameters: dict[str, float]
    error: str | None
    seeded_from: int | None = None
    sigma: dict[str, float | None] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)
    advice: str = ""


def series_row(job: Job, *, results: bool = True, targets: Mapping[str, float] | None = None) -> SeriesRow:
    """The row of one job of a watch (``results=False``: without fitted values, for a job read so).

    With the fit's advice (:mod:`metagenx.engine.advisor`): ``sigma`` the predicted σ now per
    parameter, ``verdicts`` the verdict on each of ``targets`` (parameter → σ wanted, in its
    unit), ``advice`` a short line of advice.
    """
    from metagenx.engine.advice import advice_from, advice_line, verdicts

    axes = dict(job.axes or {})
    order = axes.get("order_value")
    result = job.result if results else None
    values = {str(p["name"]): float(p["value"]) for p in (result or {}).get("parameters", [])}
    finished_badly = job.state in (JobState.FAILED, JobState.CANCELLED)
    advice = advice_from((result or {}).get("extra"))
    sigma = {p.name: p.sigma for p in advice.parameters} if advice is not None else {}
    return SeriesRow(
        job_id=job.id,
        label=job.label or f"job-{job.id}",
        file_index=axes.get("file_index"),
        sha256=job.data_sha256[0] if job.data_sha256 else None,
        order_value=None if order is None else float(order),
        state=job.state.value,
        fom=job.fom,
        parameters=values,
        error=job.last_error if finished_badly else None,
        seeded_from=job.depends_on_job_id,
        sigma=sigma,
        verdicts={name: v.text for name, v in verdicts(advice, targets or {}).items()},
        advice=advice_line(advice, targets),
    )


def series_rows(jobs: Sequence[Job], targets: Mapping[str, float] | None = None) -> list[SeriesRow]:
    """One row per file, in arrival order (verdicts on ``targets``: parameter → σ wanted)."""
    return [series_row(job, targets=targets) for job in jobs]


def parse_targets(items: Mapping[str, Any] | Sequence[str]) -> dict[str, float]:
    """Targets as parameter → σ wanted (> 0, finite), from a mapping or ``NAME=SIGMA`` items;
    :class:`SettingsError` naming a bad one."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), v) for k, v in items.items()]
    else:
        for item in items:
            name, sep, value = str(item).partition("=")
            if not sep:
                raise SettingsError(f"target {item!r} is not NAME=SIGMA, e.g. SiO.setD=2")
            pairs.append((name, value))
    found: dict[str, float] = {}
    for name, value in pairs:
        try:
            sigma = float(value)
        except (TypeError, ValueError):
            sigma = math.nan
        if not name.strip() or len(name) > 200 or not (math.isfinite(sigma) and sigma > 0):
            raise SettingsError(
                f"target {name}={value!r}: give a parameter name and a σ above 0, e.g. SiO.setD=2"
            )
        found[name.strip()] = sigma
    return found


def parameter_names(rows: Sequence[SeriesRow]) -> list[str]:
    """The fitted parameters of the series, in the order the fits report them."""
    return list(dict.fromkeys(name for row in rows for name in row.parameters))
