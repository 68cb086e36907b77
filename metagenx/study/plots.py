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
    """Sorted FOM of every succeeded start, with the band of converged starts (within the tolerance).

    One problem: FOM against rank. Several problems (e.g. data files): FOM relative to
    each problem's best, one line per problem.
    """
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
    rate = "n/a" if summary.success_rate is None else f"{summary.success_rate:.0%}"
    axes.set_title(f"FOM of {sum(p.starts for p in problems)} starts; success rate {rate}", usetex=False)
    labels = axes.get_legend_handles_labels()[1]
    if len(labels) <= MAX_LEGEND + 1:
        axes.legend(fontsize="small")
    return png(figure)


def parameter_trends_png(
    rows: Sequence[ResultRow], summary: StudySummary, x_label: str | None = None
) -> bytes | None:
    """Each fitted parameter of the best start per data file against file order or header value.

    One panel per parameter; converged starts show as small grey dots behind. None when
    the study has no batch data (fewer than two files).
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
    for index, name in enumerate(names):
        axes = grid[index // ncols][index % ncols]
        draw_parameter(axes, name, problems, rows, summary, use_values)
        axes.set_title(name, fontsize="medium", usetex=False)
        if index // ncols == nrows - 1 or index + ncols >= len(names):
            axes.set_xlabel(x_label or ("order value" if use_values else "file, in fitting order"))
    for index in range(len(names), nrows * ncols):
        grid[index // ncols][index % ncols].set_visible(False)
    figure.suptitle(f"Fitted parameters over {len(problems)} data files (best start per file)")
    return png(figure)


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
    ordered = sorted((position[k], by_problem[k].best_values.get(name, math.nan)) for k in by_problem)
    xs, ys = [float(x if x is not None else math.nan) for x, _ in ordered], [y for _, y in ordered]
    axes.plot(xs, ys, marker="o", color="tab:blue", zorder=2)
    if not use_values and len(problems) <= 20:
        ticks = sorted((p.file_index or 0, p.data_file or "") for p in problems)
        axes.set_xticks(
            [t for t, _ in ticks], [n for _, n in ticks], rotation=45, ha="right", fontsize="x-small"
        )
