"""The figure of a solve: best FOM against time for every start (pure: no file access).

Drawn with the same object API as :mod:`metagenx.outputs.plots` (no pyplot): safe in threads.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from metagenx.outputs.plots import PANEL_WIDTH, Margins, figure_title, grid_figure, note, plain_numbers
from metagenx.solve.racing import AGREE
from metagenx.solve.result import SolveResult


def solve_fom_figure(result: SolveResult) -> Figure:
    """Each start's best FOM against the seconds since the solve began (a step line per start:
    the ones that found the best answer in colour, the others grey), the solve's best in black,
    and a dashed line where it returned; log y when every FOM is positive."""
    figure, (ax,) = grid_figure(1, 1, (PANEL_WIDTH, 4.4), 2, Margins(top=0.6))
    ax.set_xlabel("time since the solve began (s)")
    ax.set_ylabel(f"best FOM ({result.best.fom_name})", parse_math=False)
    best = result.fom
    limit = best + AGREE * abs(best) if math.isfinite(best) else math.inf
    foms: list[float] = []
    for start in result.starts:
        points = [(t, f) for t, f in start.trace if math.isfinite(f)]
        if not points:
            continue
        times, values = (np.array(column, dtype=float) for column in zip(*points, strict=True))
        times, values = np.append(times, start.ended), np.append(values, values[-1])
        found = math.isfinite(start.fom) and start.fom <= limit
        ax.step(times, values, where="post", linewidth=1.0, color="C0" if found else "0.7", alpha=0.9)
        foms.extend(values.tolist())
    if result.trace:
        times, values = (np.array(column, dtype=float) for column in zip(*result.trace, strict=True))
        ax.step(
            np.append(times, result.wall_time),
            np.append(values, values[-1]),
            where="post",
            color="black",
            linewidth=2.0,
            label=f"best of all starts: {best:.6g}",
        )
        foms.extend(values.tolist())
    if not foms:
        note(ax, "no start reported a FOM")
    else:
        ax.axvline(result.wall_time, linestyle="--", color="0.4", linewidth=1, label="returned")
        ax.plot([], [], color="C0", label="a start that found the best answer")
        ax.plot([], [], color="0.7", label="a start that ended elsewhere")
        if min(foms) > 0:
            ax.set_yscale("log")
            if max(foms) < 10 * min(foms):
                ax.yaxis.set_major_formatter(plain_numbers())
                ax.yaxis.set_minor_formatter(plain_numbers())
        ax.legend(loc="upper right", fontsize="small")
    name = Path(result.model_path).stem or "model"
    figure_title(
        figure,
        f"{name}: solve {'' if result.best.complete else 'interrupted, '}ended after "
        f"{result.wall_time:.3g} s\n{len(result.starts)} starts, {result.agreeing} found the best answer; "
        f"confidence {result.confidence:.2f}",
    )
    return figure
