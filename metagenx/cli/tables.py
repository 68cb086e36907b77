"""Rich tables shared by the commands."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from metagenx.engine.result import FitResult


def position_bar(fraction: float, width: int = 12) -> str:
    """A text gauge of where a value sits in its range; ``|`` marks a value at a bound, and a value
    outside its bounds shows as ``◀`` before or ``▶`` after the gauge."""
    if fraction < 0.0:
        return "◀" + "─" * (width - 1)
    if fraction > 1.0:
        return "─" * (width - 1) + "▶"
    index = min(round(fraction * (width - 1)), width - 1)
    marker = "|" if fraction in (0.0, 1.0) else "●"
    return "".join(marker if i == index else "─" for i in range(width))


def sampled_posterior(result: FitResult) -> dict[str, Any] | None:
    """The posterior record of ``result`` (``extra["posterior"]``) when it was sampled, else None
    (not asked for, or skipped)."""
    record = result.extra.get("posterior")
    if not isinstance(record, dict) or "skipped" in record or not record.get("parameters"):
        return None
    return record


def posterior_line(result: FitResult) -> str | None:
    """``posterior: 3000 draws, converged`` (or ``not converged (why)``, or why none was sampled);
    None when no posterior was asked for."""
    record = result.extra.get("posterior")
    if not isinstance(record, dict):
        return None
    if "skipped" in record:
        return f"posterior: none ({record['skipped']})"
    verdict = (
        "converged" if record.get("converged") else f"not converged ({record.get('note') or 'R̂ too high'})"
    )
    return (
        f"posterior: {record.get('draws')} draws, {verdict}; ± is the 68 % interval around the value "
        f"(bumps DREAM, {record.get('seconds', 0.0):.1f} s)"
    )


def show_posterior(console: Console, result: FitResult) -> None:
    """Print :func:`posterior_line` (yellow unless the posterior converged), if there is one."""
    line = posterior_line(result)
    if line is not None:
        style = "" if (result.extra.get("posterior") or {}).get("converged") else "[yellow]"
        console.print(f"{style}{escape(line)}", highlight=False)


def parameter_table(result: FitResult) -> Table:
    """Fitted parameters with start value, bounds, position in range, (if computed) error bars, and
    a ``flags`` column when any value is doubtful (at or outside a bound, unphysical). With a sampled
    posterior, the error bars are its 68 % interval (``± (68 %)``), beside its median, 95 %
    interval and R̂."""
    posterior = sampled_posterior(result)
    sampled = {q["name"]: q for q in posterior["parameters"]} if posterior else {}
    with_errors = any(p.error_low is not None for p in result.parameters)
    with_flags = any(p.flags for p in result.parameters)
    table = Table(title="Fitted parameters")
    for column in ("parameter", "value", "start", "min", "max", "in range"):
        table.add_column(column, justify="left" if column in ("parameter", "in range") else "right")
    if posterior:
        for column in ("± (68 %)", "median", "95 % interval", "R̂"):
            table.add_column(column, justify="right")
    elif with_errors:
        table.add_column("error (−/+)", justify="right")
    if with_flags:
        table.add_column("flags", justify="left", style="yellow")
    for p in result.parameters:
        row = [p.name, f"{p.value:.6g}", f"{p.start:.6g}", f"{p.min:.6g}", f"{p.max:.6g}"]
        row.append(position_bar(p.relative_position))
        if posterior:
            row.extend(posterior_cells(p.value, sampled.get(p.name)))
        elif with_errors:
            row.append(f"{p.error_low:.3g} / {p.error_high:+.3g}" if p.error_low is not None else "")
        if with_flags:
            row.append(", ".join(p.flags))
        table.add_row(*row)
    return table


def posterior_cells(value: float, sampled: dict[str, Any] | None) -> list[str]:
    """``−a/+b`` of the 68 % interval around ``value``, the median, the 95 % interval and R̂."""
    if sampled is None:
        return ["", "", "", ""]
    low, high = sampled["p68"]
    low95, high95 = sampled["p95"]
    r_hat = sampled.get("r_hat")
    return [
        f"{signed(low - value)} / {signed(high - value)}",
        f"{sampled['median']:.6g}",
        f"{low95:.6g} … {high95:.6g}",
        f"{r_hat:.3f}" if isinstance(r_hat, float) and math.isfinite(r_hat) else "",
    ]


def signed(offset: float) -> str:
    """``+0.052``, ``−0.0675`` (a true minus sign), 3 significant digits."""
    return f"−{-offset:.3g}" if offset < 0 else f"+{offset:.3g}"
