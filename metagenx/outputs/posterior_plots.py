"""Figures of a fit's posterior (:mod:`metagenx.engine.posterior`): the corner plot and the band.

:func:`corner_figure` draws every pair of fitted parameters' draws (2-D histograms below the
diagonal) and each parameter's marginal histogram on the diagonal, with its median and 68 %
interval. :func:`band_figure` draws each data set with the simulation's 68 % and 95 % posterior
bands. Object API only, as in :mod:`metagenx.outputs.plots`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from metagenx.engine.posterior import BandCurve, Posterior
from metagenx.engine.result import DatasetCurve, FitResult
from metagenx.outputs.plots import (
    DPI,
    PANEL_HEIGHT,
    PANEL_WIDTH,
    RESIDUAL_SHARE,
    TITLE_LINE,
    X_LABELS,
    Margins,
    figure_title,
    grid_layout,
    grid_shape,
    log_scale_suits,
    model_name,
    note,
)

CORNER_CELL = 1.35
"""Size of one corner-plot cell, inches."""
CORNER_BINS = 30
CORNER_LIMIT = 16
"""At most this many parameters in the corner plot (the first ones in the grid's order); the title
says when more were sampled."""


def short_label(name: str) -> str:
    """``SiO.setD`` → ``SiO.D``: the setter's ``set`` dropped, for narrow axes."""
    head, _, tail = name.rpartition(".")
    if head and tail.startswith("set") and len(tail) > 3:
        return f"{head}.{tail[3:]}"
    return name


def corner_figure(result: FitResult, posterior: Posterior) -> Figure:
    """Pairwise 2-D histograms and marginal histograms of the posterior draws."""
    sample = np.asarray(posterior.sample, dtype=float)
    names = posterior.names[:CORNER_LIMIT]
    count = len(names)
    title = (
        f"{model_name(result)}: posterior of {len(posterior.names)} parameters"
        f"\n{posterior.draws} draws (DREAM), largest R̂ {max_r_hat(posterior)}"
    )
    if len(posterior.names) > CORNER_LIMIT:
        title += f"\nshown: the first {CORNER_LIMIT}"
    if not posterior.converged:
        title += "\nnot converged: " + (posterior.note.split(";")[0] or "see the notes")
    cells = max(count, 1)
    figure, axes = corner_axes(cells, title.count("\n") + 1)
    if count == 0 or sample.size == 0:
        note(axes[0], "no draws")
        figure_title(figure, title)
        return figure
    for row in range(count):
        for column in range(count):
            ax = axes[row * cells + column]
            if column > row:
                ax.set_visible(False)
                continue
            draw_cell(ax, sample, posterior, row, column)
            ax.tick_params(labelsize="x-small")
            if row < count - 1:
                ax.tick_params(labelbottom=False)
            else:
                ax.set_xlabel(short_label(names[column]), fontsize="x-small", parse_math=False)
                for label in ax.get_xticklabels():
                    label.set_rotation(45)
            if column > 0 or row == 0:
                ax.tick_params(labelleft=False)
            else:
                ax.set_ylabel(short_label(names[row]), fontsize="x-small", parse_math=False)
    figure_title(figure, title)
    return figure


def corner_axes(cells: int, title_lines: int) -> tuple[Figure, list[Any]]:
    """A figure of ``cells`` × ``cells`` touching axes with room for tick labels, names and a title."""
    left, bottom, right, header = 0.95, 0.95, 0.15, title_lines * TITLE_LINE + 0.25
    width = max(left + right + cells * CORNER_CELL, 6.0)
    height = bottom + header + cells * CORNER_CELL
    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(
        cells,
        cells,
        left=left / width,
        right=(left + cells * CORNER_CELL) / width,
        bottom=bottom / height,
        top=1 - header / height,
        wspace=0.08,
        hspace=0.08,
    )
    return figure, list(grid.subplots(squeeze=False).ravel())


def max_r_hat(posterior: Posterior) -> str:
    values = [p.r_hat for p in posterior.parameters if math.isfinite(p.r_hat)]
    return f"{max(values):.3g}" if values else "n/a"


def draw_cell(ax: Any, sample: np.ndarray, posterior: Posterior, row: int, column: int) -> None:
    """The diagonal: a histogram with the fitted value, median and 68 % interval; below it: a
    2-D histogram of parameter ``column`` (x) against ``row`` (y)."""
    x = sample[:, column]
    if row == column:
        parameter = posterior.parameters[column]
        ax.hist(x[np.isfinite(x)], bins=CORNER_BINS, color="C0", alpha=0.6, histtype="stepfilled")
        for edge in parameter.p68:
            ax.axvline(edge, color="C0", linestyle="--", linewidth=0.8)
        ax.axvline(parameter.median, color="C0", linewidth=1.0)
        ax.axvline(parameter.value, color="C1", linewidth=1.0)
        ax.set_yticks([])
        return
    y = sample[:, row]
    usable = np.isfinite(x) & np.isfinite(y)
    if np.ptp(x[usable]) == 0 or np.ptp(y[usable]) == 0:
        ax.plot(x[usable], y[usable], ".", markersize=1, color="C0")
    else:
        ax.hist2d(x[usable], y[usable], bins=CORNER_BINS, cmap="Blues", rasterized=True)
    ax.plot(
        posterior.parameters[column].value, posterior.parameters[row].value, "+", color="C1", markersize=6
    )


def band_figure(result: FitResult, posterior: Posterior) -> Figure:
    """Each data set in use with the simulation's 68 % and 95 % posterior bands, their median and
    the data; below, the bands relative to the median (%), which shows them however narrow."""
    bands = posterior.band
    rows, columns = grid_shape(max(len(bands), 1))
    scale = 1.0 if columns == 1 else 0.75
    title = f"{model_name(result)}: data and the posterior's 68 % and 95 % bands ({posterior.draws} draws)"
    figure, grid = grid_layout(rows, columns, (PANEL_WIDTH * scale, PANEL_HEIGHT * scale), 1, Margins())
    curves = {d.name: d for d in result.datasets if d.use}
    for index, band in enumerate(bands):
        cell = grid[index // columns, index % columns]
        parts = cell.subgridspec(2, 1, height_ratios=(1 - RESIDUAL_SHARE, RESIDUAL_SHARE), hspace=0.06)
        ax = figure.add_subplot(parts[0])
        relative_ax = figure.add_subplot(parts[1], sharex=ax)
        draw_band(ax, relative_ax, band, curves.get(band.name))
    if not bands:
        note(figure.add_subplot(grid[0, 0]), "no band: no draws")
    figure_title(figure, title)
    return figure


def draw_band(ax: Any, relative_ax: Any, band: BandCurve, curve: DatasetCurve | None) -> None:
    """One data set's bands, median and data on ``ax``; the bands relative to the median on
    ``relative_ax``."""
    levels = np.asarray(band.percentiles, dtype=float)
    x = np.asarray(band.x, dtype=float)
    order = np.argsort(x, kind="stable")
    x, levels = x[order], levels[:, order]
    low95, low68, median, high68, high95 = levels
    ax.fill_between(x, low95, high95, color="C1", alpha=0.25, linewidth=0, label="95 %")
    ax.fill_between(x, low68, high68, color="C1", alpha=0.5, linewidth=0, label="68 %")
    ax.plot(x, median, "-", color="C1", linewidth=0.9, label="median")
    if curve is not None:
        data_x = np.asarray([math.nan if v is None else v for v in curve.x], dtype=float)
        data_y = np.asarray([math.nan if v is None else v for v in curve.y], dtype=float)
        ax.plot(data_x, data_y, "o", markersize=2, color="C0", label="data")
        relative_ax.set_xlabel(X_LABELS.get(curve.x_axis, X_LABELS[""]))
        if log_scale_suits(data_y):
            ax.set_yscale("log")
    ax.set_title(band.name, fontsize="medium", parse_math=False)
    ax.set_ylabel("intensity")
    ax.tick_params(labelbottom=False)
    ax.legend(loc="upper right", fontsize="small")
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = [100.0 * (level / median - 1.0) for level in (low95, low68, high68, high95)]
    relative_ax.fill_between(x, scaled[0], scaled[3], color="C1", alpha=0.25, linewidth=0)
    relative_ax.fill_between(x, scaled[1], scaled[2], color="C1", alpha=0.5, linewidth=0)
    relative_ax.axhline(0.0, color="C1", linewidth=0.8)
    relative_ax.set_ylabel("band − median (%)", fontsize="small")
