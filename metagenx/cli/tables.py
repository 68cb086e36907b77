"""Rich tables shared by the commands."""

from __future__ import annotations

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


def parameter_table(result: FitResult) -> Table:
    """Fitted parameters with start value, bounds, position in range, (if computed) error bars, and
    a ``flags`` column when any value is doubtful (at or outside a bound, unphysical)."""
    with_errors = any(p.error_low is not None for p in result.parameters)
    with_flags = any(p.flags for p in result.parameters)
    table = Table(title="Fitted parameters")
    for column in ("parameter", "value", "start", "min", "max", "in range"):
        table.add_column(column, justify="left" if column in ("parameter", "in range") else "right")
    if with_errors:
        table.add_column("error (−/+)", justify="right")
    if with_flags:
        table.add_column("flags", justify="left", style="yellow")
    for p in result.parameters:
        row = [p.name, f"{p.value:.6g}", f"{p.start:.6g}", f"{p.min:.6g}", f"{p.max:.6g}"]
        row.append(position_bar(p.relative_position))
        if with_errors:
            row.append(f"{p.error_low:.3g} / {p.error_high:+.3g}" if p.error_low is not None else "")
        if with_flags:
            row.append(", ".join(p.flags))
        table.add_row(*row)
    return table
