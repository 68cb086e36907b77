"""Figures of one fit, drawn from a :class:`FitResult` alone (pure: no file access).

Only matplotlib's object API is used (``Figure`` + ``FigureCanvasAgg``), never
``pyplot``: no global figure registry, no GUI backend, so drawing is safe in worker
processes and, figure by figure, in threads. Every function accepts results that came
back through JSON: ``None`` and non-finite numbers in any list are skipped, never fatal.
Names (model, data sets) are drawn literally, never parsed as TeX math.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from metagenx.engine.result import DatasetCurve, FitResult

DPI = 150
"""Pixels per inch of the PNGs (each figure is also written as SVG)."""
PANEL_WIDTH = 6.4
PANEL_HEIGHT = 4.6
"""Size of one data-set panel in inches (one column; data above, residuals below); 3/4 of it
when panels go in a grid."""
RESIDUAL_SHARE = 0.28
"""Share of a data-set panel's plotting height given to its residuals."""
CLIP_DECADES = 1.0
"""On a log axis, an error bar's lower end is cut this many decades below its point (an error
as large as the value would otherwise draw a line down to the axis)."""
TITLE_LINE = 0.3
"""Height of one line of a figure title, in inches."""
MARKERS_UP_TO = 60
"""FOM histories with at most this many generations show a marker per generation."""
X_LABELS = {"q": "Q (Å⁻¹)", "2theta": "2θ (°)", "": "x (as in the data file, e.g. Q in Å⁻¹ or 2θ in °)"}
"""x-axis label by :data:`~metagenx.engine.result.X_AXES` (the model's instrument coordinates)."""
RESIDUAL_LABEL = "(data − sim) / error"


@dataclass(frozen=True)
class Margins:
    """Room around each axes for ticks, labels and its title, in inches."""

    left: float = 0.85
    right: float = 0.2
    top: float = 0.35
    bottom: float = 0.55


def as_floats(values: Sequence[float | None]) -> np.ndarray:
    """A float array of ``values`` with ``None`` as NaN."""
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def model_name(result: FitResult) -> str:
    """The model file's name without folder and extension, e.g. ``SuperAdam_SiO``."""
    return Path(result.model_path).stem or "model"


def short_number(value: float | None) -> str:
    """``value`` with 6 significant digits, or ``n/a`` when missing or non-finite."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.6g}"


def seconds(value: float | None) -> str:
    """A duration in s with 3 significant digits, e.g. ``2.1 s``; ``n/a`` when unknown."""
    return "n/a s" if value is None or not math.isfinite(value) else f"{value:.3g} s"


def name_list(names: Sequence[str], limit: int = 4) -> str:
    """``a, b, c`` — or ``a, b, c, d and 3 more`` for long lists."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def grid_layout(
    rows: int, columns: int, panel: tuple[float, float], title_lines: int, margins: Margins
) -> tuple[Figure, Any]:
    """A figure and its grid of ``rows`` × ``columns`` cells, each panel ``panel`` = (width,
    height) inches including ``margins``, below room for a title of ``title_lines`` lines.

    The layout is fixed arithmetic rather than matplotlib's constrained layout, which
    costs more than the drawing itself. The figure has its own Agg canvas; no pyplot.
    """
    panel_width, panel_height = panel
    header = title_lines * TITLE_LINE + 0.15
    width, height = columns * panel_width, header + rows * panel_height
    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(
        rows,
        columns,
        left=margins.left / width,
        right=1 - margins.right / width,
        bottom=margins.bottom / height,
        top=1 - (header + margins.top) / height,
        wspace=(margins.left + margins.right) / (panel_width - margins.left - margins.right),
        hspace=(margins.top + margins.bottom) / (panel_height - margins.top - margins.bottom),
    )
    return figure, grid


def grid_figure(
    rows: int, columns: int, panel: tuple[float, float], title_lines: int, margins: Margins
) -> tuple[Figure, list[Any]]:
    """A figure of ``rows`` × ``columns`` axes laid out as :func:`grid_layout` says."""
    figure, grid = grid_layout(rows, columns, panel, title_lines, margins)
    return figure, list(grid.subplots(squeeze=False).ravel())


INTERRUPTED = "interrupted: best so far, not a finished fit"


def figure_title(figure: Figure, text: str) -> None:
    """``text`` (one line per :data:`TITLE_LINE`) centred at the top of ``figure``."""
    height = float(figure.get_figheight())
    figure.suptitle(text, y=1 - 0.1 / height, va="top", fontsize="large", parse_math=False)


def plain_numbers() -> FuncFormatter:
    """Tick labels as plain numbers (``%g``); a new one per axis, as formatters bind to their axis."""
    return FuncFormatter(lambda value, _position: f"{value:g}")


def note(ax: Any, text: str) -> None:
    """Write ``text`` in the middle of an axes (for panels with nothing to draw)."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


# -- data vs simulation -----------------------------------------------------------------
def grid_shape(panels: int) -> tuple[int, int]:
    """(rows, columns) for ``panels`` panels: one column up to 3, then up to 3 columns."""
    columns = 1 if panels <= 3 else 2 if panels <= 8 else 3
    return math.ceil(panels / columns), columns


def log_scale_suits(y: np.ndarray) -> bool:
    """True when most finite values of ``y`` are positive (reflectivity: almost always)."""
    finite = np.isfinite(y)
    positive = int(np.count_nonzero(finite & (y > 0)))
    return positive > 0 and positive * 2 >= int(np.count_nonzero(finite))


def draw_dataset(ax: Any, curve: DatasetCurve, residual_ax: Any = None) -> None:
    """Measured points with error bars and the simulated curve of one data set, log y if it suits,
    and (on ``residual_ax``) the residuals (data − simulation) / error of the points with an error.

    Points at y ≤ 0 cannot show on a log axis; their count goes into the legend's title. Error
    bars on a log axis end at most :data:`CLIP_DECADES` below their point.
    """
    n = min(len(curve.x), len(curve.y))
    x, y = as_floats(curve.x[:n]), as_floats(curve.y[:n])
    error = as_floats(curve.error[:n]) if len(curve.error) >= n else np.zeros(n)
    error = np.where(np.isfinite(error) & (error > 0), error, 0.0)
    simulated = as_floats(curve.simulated[:n])
    if len(simulated) < n:
        simulated = np.concatenate([simulated, np.full(n - len(simulated), math.nan)])
    if n > 1 and np.any(np.diff(x) < 0):  # unsorted x (e.g. merged data): sort so the curve is a line
        order = np.argsort(x, kind="stable")
        x, y, error, simulated = x[order], y[order], error[order], simulated[order]

    ax.set_title(curve.name, fontsize="medium", parse_math=False)  # names may hold "$"
    bottom = ax if residual_ax is None else residual_ax
    bottom.set_xlabel(X_LABELS.get(curve.x_axis, X_LABELS[""]))
    if residual_ax is not None:
        draw_residuals(residual_ax, x, y, error, simulated)
        ax.tick_params(labelbottom=False)
    if not np.any(np.isfinite(x) & (np.isfinite(y) | np.isfinite(simulated))):
        note(ax, "no finite points")
        return
    shown = y if np.any(np.isfinite(y)) else simulated
    hidden = 0
    low_edge = y - error
    if log_scale_suits(shown):
        hidden = int(np.count_nonzero(np.isfinite(y) & (y <= 0)))
        y = np.where(y > 0, y, math.nan)
        simulated = np.where(simulated > 0, simulated, math.nan)
        both = np.concatenate([y, simulated])
        low, high = float(np.nanmin(both)), float(np.nanmax(both))
        pad = (high / low) ** 0.04 if high > low else 2.0
        ax.set_yscale("log")
        ax.set_ylim(low / pad, high * pad)
        if high / low > 1e3:
            ax.yaxis.set_minor_locator(NullLocator())  # unlabelled anyway; they cost half the drawing time
        floor = y / 10**CLIP_DECADES
        low_edge = np.where(low_edge > floor, low_edge, floor)
        ax.set_ylabel("intensity (log scale)")
    else:
        ax.set_ylabel("intensity")
    # Error bars as one NaN-separated line: one path to transform instead of one per point.
    bars_x = np.column_stack([x, x, np.full(n, math.nan)]).ravel()
    bars_y = np.column_stack([low_edge, y + error, np.full(n, math.nan)]).ravel()
    ax.plot(bars_x, bars_y, "-", color="C0", linewidth=0.5, alpha=0.35)
    ax.plot(x, y, "o", markersize=2.5, color="C0", label="data ± error")
    ax.plot(x, simulated, "-", color="C1", linewidth=1.3, label="simulation")
    title = f"{hidden} point{'s' if hidden > 1 else ''} ≤ 0 not shown" if hidden else None
    # A fixed corner: loc="best" costs more than the whole rest of the drawing on 2000 points.
    # Reflectivity falls to the right, so the upper right corner is the emptiest.
    ax.legend(loc="upper right", fontsize="small", title=title, title_fontsize="small")


def draw_residuals(ax: Any, x: np.ndarray, y: np.ndarray, error: np.ndarray, simulated: np.ndarray) -> None:
    """(data − simulation) / error against x for the points with a positive error, with ±1 and 0 lines."""
    usable = np.isfinite(x) & np.isfinite(y) & np.isfinite(simulated) & (error > 0)
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    for level in (-1.0, 1.0):
        ax.axhline(level, color="0.6", linewidth=0.6, linestyle=":")
    ax.set_ylabel(RESIDUAL_LABEL, fontsize="small")
    if not np.any(usable):
        note(ax, "no error bars: no residuals")
        return
    residual = (y[usable] - simulated[usable]) / error[usable]
    ax.plot(x[usable], residual, ".", markersize=2.5, color="C2")
    reach = float(np.nanpercentile(np.abs(residual), 99)) if residual.size else 1.0
    ax.set_ylim(-max(reach, 3.0) * 1.1, max(reach, 3.0) * 1.1)


def fit_figure(result: FitResult) -> Figure:
    """Data (with error bars) vs simulation of every data set in use, one panel each, the
    residuals (data − simulation) / error below each; x labelled in the instrument's coordinates.

    The title names the model and the FOM; data sets not in use are named there, not drawn.
    """
    used = [d for d in result.datasets if d.use]
    skipped = [d.name for d in result.datasets if not d.use]
    rows, columns = grid_shape(max(len(used), 1))
    scale = 1.0 if columns == 1 else 0.75
    title = f"{model_name(result)}: FOM ({result.fom_name}) = {short_number(result.fom)}"
    if not result.complete:
        title += f" — {INTERRUPTED}"
    if skipped:
        title += f"\nnot in use, not shown: {name_list(skipped)}"
    panel = (PANEL_WIDTH * scale, PANEL_HEIGHT * scale)
    figure, grid = grid_layout(rows, columns, panel, title.count("\n") + 1, Margins())
    for index, curve in enumerate(used):
        cell = grid[index // columns, index % columns]
        parts = cell.subgridspec(2, 1, height_ratios=(1 - RESIDUAL_SHARE, RESIDUAL_SHARE), hspace=0.06)
        ax = figure.add_subplot(parts[0])
        draw_dataset(ax, curve, figure.add_subplot(parts[1], sharex=ax))
    if not used:
        note(figure.add_subplot(grid[0, 0]), "no data set is in use")
    figure_title(figure, title)
    return figure


# -- FOM history -------------------------------------------------------------------------
Conversion = Callable[[Any], Any]
SVG_METADATA = {"Date": None}
"""No creation date in SVGs, and (below) element ids from a fixed salt: the same result gives the
same file."""
matplotlib.rcParams["svg.hashsalt"] = "metagenx"


def interpolate(x: Any, xp: np.ndarray, fp: np.ndarray) -> Any:
    """Piecewise-linear ``fp(x)`` through increasing ``xp`` (≥ 2 points), extended linearly
    beyond both ends (so axis margins map to sensible values)."""
    x = np.asarray(x, dtype=float)
    left = fp[0] + (x - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
    right = fp[-1] + (x - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return np.where(x < xp[0], left, np.where(x > xp[-1], right, np.interp(x, xp, fp)))


def time_axis(generations: np.ndarray, times: np.ndarray) -> tuple[Conversion, Conversion] | None:
    """Generation ↔ seconds conversions for a secondary axis, or None if ``times`` cannot map."""
    if len(times) < 2 or len(times) != len(generations) or not np.all(np.isfinite(times)):
        return None
    if not np.all(np.diff(times) > 0):
        return None

    def to_seconds(generation: Any) -> Any:
        return interpolate(generation, generations, times)

    def to_generation(seconds: Any) -> Any:
        return interpolate(seconds, times, generations)

    return to_seconds, to_generation


def fom_figure(result: FitResult) -> Figure:
    """Best FOM vs generation (log y when every value is positive), wall time on the top axis.

    The title gives why the fit stopped, generations, evaluations and wall time (s); a dashed
    line marks the FOM of the start values.
    """
    figure, (ax,) = grid_figure(1, 1, (PANEL_WIDTH, 4.4), 2, Margins(top=0.6))
    history = as_floats(result.fom_history)
    generations = np.arange(len(history), dtype=float)
    finite = history[np.isfinite(history)]
    ax.set_xlabel("generation")
    ax.set_ylabel(f"best FOM ({result.fom_name})", parse_math=False)
    if len(finite):
        marker = "o" if len(history) <= MARKERS_UP_TO else None
        ax.plot(generations, history, "-", marker=marker, markersize=3, color="C0", label="best FOM")
        start = result.fom_start
        if start is not None and math.isfinite(start) and (start > 0 or not np.all(finite > 0)):
            ax.axhline(start, linestyle="--", color="0.5", linewidth=1, label=f"start values: {start:.6g}")
        ax.plot([], [], " ", label=f"final: {short_number(result.fom)}")
        if np.all(finite > 0):
            ax.set_yscale("log")
            if finite.max() < 10 * finite.min():  # within a decade: plain labels, not 6×10¹
                ax.yaxis.set_major_formatter(plain_numbers())
                ax.yaxis.set_minor_formatter(plain_numbers())
        ax.legend(loc="upper right", fontsize="small")
        conversions = time_axis(generations, as_floats(result.time_history))
        if conversions is not None:
            top = ax.secondary_xaxis("top", functions=conversions)
            top.set_xlabel("wall time (s)")
    else:
        note(ax, "no generation recorded")
    figure_title(
        figure,
        f"{model_name(result)}: {result.stop_reason}"
        + ("" if result.complete else f" — {INTERRUPTED}")
        + "\n"
        f"{result.generations} generations, {result.evaluations} evaluations, "
        f"{seconds(result.wall_time)}",
    )
    return figure


# -- rendering ---------------------------------------------------------------------------
def png_bytes(figure: Figure) -> bytes:
    """Render ``figure`` as PNG at :data:`DPI`, then clear it so its memory can be freed."""
    return rendered(figure, "png")[0]


def rendered(figure: Figure, *formats: str) -> list[bytes]:
    """Render ``figure`` in each of ``formats`` (``png`` at :data:`DPI`, ``svg``), then clear it."""
    out = []
    try:
        for kind in formats:
            buffer = io.BytesIO()
            figure.savefig(buffer, format=kind, dpi=DPI, metadata=SVG_METADATA if kind == "svg" else None)
            out.append(buffer.getvalue())
    finally:
        figure.clear()
    return out


def warm_up() -> None:
    """Render a small log-scale figure with text once: loads matplotlib, fonts and the renderer,
    so that the first outputs of a runner do not pay for them (about 0.4 s)."""
    figure = Figure(figsize=(2, 2))
    ax = figure.add_subplot()
    ax.semilogy([0.01, 0.1], [1.0, 1e-3], "o-", label="warm")
    ax.set_xlabel("q (1/Å)")
    ax.legend()
    figure_title(figure, "warm")
    png_bytes(figure)
