"""Summary figures of a study as PNG bytes (pure: no file access).

Only matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), never ``pyplot``: safe
in worker processes and threads. Names are drawn literally, never parsed as TeX.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from metagenx.study.results import ProblemSummary, ResultRow, StudySummary

DPI = 100
PANEL = (4.2, 2.8)
"""Width and height of one parameter panel, in inches."""
MAX_LEGEND = 10


def png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def fom_distribution_png(rows: Sequence[ResultRow], summary: StudySummary) -> bytes:
    """:func:`fom_distribution_figure` as PNG bytes."""
    return png(fom_distribution_figure(rows, summary))


def fom_distribution_figure(rows: Sequence[ResultRow], summary: StudySummary) -> Figure:
    """Sorted FOM of every succeeded start, with the band of converged starts (within the tolerance).

    One problem: FOM against rank. Several problems (e.g. data files): FOM relative to
    each problem's best, one line per problem. A sweep of settings: :func:`sweep_figure`.
    """
    if summary.shape == "sweep" and summary.points:
        return sweep_figure(rows, summary)
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.add_subplot()
    problems = summary.problems
    relative = len(problems) > 1
    band_top = 1 + summary.tolerance
    for problem in problems:
        foms = sorted(
            float(r.fom) for r in rows if r.succeeded and r.problem == problem.problem and r.fom is not None
        )
        values = np.array(foms) / problem.best_fom if relative and problem.best_fom else np.array(foms)
        label = problem.problem or "all starts"
        axes.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=4, label=label)
        if not relative:
            top = problem.best_fom + summary.tolerance * abs(problem.best_fom)
            axes.axhspan(
                problem.best_fom, top, color="tab:green", alpha=0.25, label=f"within {summary.tolerance:.0%}"
            )
    if relative:
        axes.axhspan(1.0, band_top, color="tab:green", alpha=0.25, label=f"within {summary.tolerance:.0%}")
    if not problems:
        axes.text(0.5, 0.5, "no succeeded fit", ha="center", va="center", transform=axes.transAxes)
    finite = [float(r.fom) for r in rows if r.succeeded and r.fom is not None]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 20:
        axes.set_yscale("log")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("start, sorted by FOM")
    axes.set_ylabel("FOM / best FOM of its problem" if relative else "FOM")
    starts = sum(p.starts for p in problems)
    if summary.shape == "batch":
        axes.set_title(f"FOM of {starts} fits over {len(problems)} data files", usetex=False)
    else:
        rate = "n/a" if summary.success_rate is None else f"{summary.success_rate:.0%}"
        axes.set_title(f"FOM of {starts} starts; success rate {rate}", usetex=False)
    labels = axes.get_legend_handles_labels()[1]
    if len(labels) <= MAX_LEGEND + 1:
        axes.legend(fontsize="small")
    return figure


def sweep_figure(rows: Sequence[ResultRow], summary: StudySummary) -> Figure:
    """A sweep of settings: every succeeded start's FOM per settings point (dots), its median (a
    bar), and the share of starts within the tolerance of the best FOM above each point; the
    best point (:attr:`StudySummary.best_point`) in green."""
    from metagenx.study.results import point_label

    points = summary.points
    figure = Figure(figsize=(max(6.4, 0.5 * len(points) + 2), 4.4), layout="constrained")
    axes = figure.add_subplot()
    index = {p.label: i for i, p in enumerate(points)}
    for row in rows:
        if not row.succeeded or row.fom is None:
            continue
        at = index.get(point_label(row))
        if at is not None:
            marker = "D" if row.label == points[at].best_label else "o"
            axes.scatter([at], [row.fom], s=14, color="0.35", alpha=0.7, zorder=2, marker=marker)
    for i, point in enumerate(points):
        if point.fom_median is None:
            continue
        color = "tab:green" if point.label == summary.best_point else "tab:blue"
        axes.hlines(point.fom_median, i - 0.3, i + 0.3, color=color, linewidth=2.5, zorder=3)
        axes.annotate(
            f"{point.success_share:.0%}",
            (i, 1.0),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="bottom",
            fontsize="x-small",
            annotation_clip=False,
        )
    foms = [float(r.fom) for r in rows if r.succeeded and r.fom is not None]
    if foms and min(foms) > 0 and max(foms) / min(foms) > 20:
        axes.set_yscale("log")
    axes.set_xticks(
        range(len(points)), [p.label for p in points], rotation=45 if len(points) > 3 else 0, ha="right"
    )
    axes.set_xlim(-0.6, len(points) - 0.4)
    axes.set_xlabel("settings point", usetex=False)
    axes.set_ylabel("FOM", usetex=False)
    best = f"; best point {summary.best_point}" if summary.best_point else ""
    axes.set_title(
        f"FOM per settings point (bar: median; above: share within {summary.tolerance:.0%} "
        f"of the best){best}",
        fontsize="small",
        usetex=False,
        pad=14,
    )
    return figure


def parameter_trends_png(
    rows: Sequence[ResultRow], summary: StudySummary, x_label: str | None = None
) -> bytes | None:
    """:func:`parameter_trends_figure` as PNG bytes (None when there is no trend to draw)."""
    figure = parameter_trends_figure(rows, summary, x_label)
    return None if figure is None else png(figure)


def parameter_trends_figure(
    rows: Sequence[ResultRow], summary: StudySummary, x_label: str | None = None
) -> Figure | None:
    """Each fitted parameter of the best start per data file against file order or header value.

    One panel per parameter; converged starts show as small grey dots behind; error bars
    (the posterior's 68 % interval, else ±1σ of the Jacobian covariance, else GenX's) when the
    fits have them, with a legend saying which. ``x_label`` names the order (e.g.
    ``temperature (K)``, see :func:`metagenx.study.results.order_label`). None when the study
    has no batch data (fewer than two files).
    """
    problems = [p for p in summary.problems if p.data_file is not None]
    if len({p.data_file for p in problems}) < 2:
        return None
    use_values = all(p.order_value is not None for p in problems)
    names = list(dict.fromkeys(k for p in problems for k in p.best_values))
    if not names:
        return None
    ncols = 1 if len(names) == 1 else 2
    nrows = math.ceil(len(names) / ncols)
    figure = Figure(figsize=(PANEL[0] * ncols, PANEL[1] * nrows + 0.4), layout="constrained")
    grid = figure.subplots(nrows, ncols, squeeze=False)
    sources = sorted({p.error_source for p in problems if p.error_source and p.best_errors})
    for index, name in enumerate(names):
        axes = grid[index // ncols][index % ncols]
        draw_parameter(axes, name, problems, rows, summary, use_values)
        axes.set_title(name, fontsize="medium", usetex=False)
        if index == 0 and axes.get_legend_handles_labels()[1]:
            axes.legend(fontsize="x-small")
        if index // ncols == nrows - 1 or index + ncols >= len(names):
            axes.set_xlabel(
                x_label or ("order value" if use_values else "file, in fitting order"), usetex=False
            )
    for index in range(len(names), nrows * ncols):
        grid[index // ncols][index % ncols].set_visible(False)
    title = f"Fitted parameters over {len(problems)} data files (best start per file)"
    if sources:
        title += "\nerror bars: " + "; ".join(sources)
    figure.suptitle(title, usetex=False)
    return figure


def draw_parameter(
    axes: Any,
    name: str,
    problems: list[ProblemSummary],
    rows: Sequence[ResultRow],
    summary: StudySummary,
    use_values: bool,
) -> None:
    position = {p.problem: (p.order_value if use_values else p.file_index) for p in problems}
    by_problem = {p.problem: p for p in problems}
    for problem in problems:
        limit = problem.best_fom + summary.tolerance * abs(problem.best_fom)
        others = [
            r.parameters[name]
            for r in rows
            if r.succeeded and r.problem == problem.problem and name in r.parameters and (r.fom or 0) <= limit
        ]
        if len(others) > 1:
            axes.scatter([position[problem.problem]] * len(others), others, s=8, color="0.6", zorder=1)
    ordered = sorted(
        ((position[k], k) for k in by_problem), key=lambda item: (item[0] is None, item[0] or 0.0, item[1])
    )
    xs = [float(x if x is not None else math.nan) for x, _ in ordered]
    ys = [by_problem[k].best_values.get(name, math.nan) for _, k in ordered]
    bars = [by_problem[k].best_errors.get(name) for _, k in ordered]
    if any(bar is not None for bar in bars):
        sources = {by_problem[k].error_source for _, k in ordered if by_problem[k].best_errors.get(name)}
        low = [math.nan if bar is None else float(bar[0]) for bar in bars]
        high = [math.nan if bar is None else float(bar[1]) for bar in bars]
        axes.errorbar(
            xs,
            ys,
            yerr=np.array([low, high]),
            marker="o",
            color="tab:blue",
            ecolor="tab:blue",
            capsize=3,
            zorder=2,
            label=" / ".join(sorted(str(s) for s in sources)),
        )
    else:
        axes.plot(xs, ys, marker="o", color="tab:blue", zorder=2)
    if not use_values and len(problems) <= 20:
        ticks = sorted((p.file_index or 0, p.data_file or "") for p in problems)
        axes.set_xticks(
            [t for t, _ in ticks], [n for _, n in ticks], rotation=45, ha="right", fontsize="x-small"
        )
