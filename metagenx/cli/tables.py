"""Rich tables shared by the commands."""

from __future__ import annotations

from rich.table import Table

from metagenx.engine.result import FitResult


def position_bar(fraction: float, width: int = 12) -> str:
    """A text gauge of where a value sits in its range; ``|`` marks a value at a bound."""
    clipped = min(max(fraction, 0.0), 1.0)
    index = min(round(clipped * (width - 1)), width - 1)
    marker = "|" if clipped in (0.0, 1.0) else "●"
    return "".join(marker if i == index else "─" for i in range(width))


def parameter_table(result: FitResult) -> Table:
    """Fitted parameters with start value, bounds, position in range and (if computed) error bars."""
    with_errors = any(p.error_low is not None for p in result.parameters)
    table = Table(title="Fitted parameters")
    for column in ("parameter", "value", "start", "min", "max", "in range"):
        table.add_column(column, justify="left" if column in ("parameter", "in range") else "right")
    if with_errors:
        table.add_column("error (−/+)", justify="right")
    for p in result.parameters:
        row = [p.name, f"{p.value:.6g}", f"{p.start:.6g}", f"{p.min:.6g}", f"{p.max:.6g}"]
        row.append(position_bar(p.relative_position))
        if with_errors:
            row.append(f"{p.error_low:.3g} / {p.error_high:+.3g}" if p.error_low is not None else "")
        table.add_row(*row)
    return table
