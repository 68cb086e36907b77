"""The parameter table of a fit as CSV text (pure: no file access)."""

from __future__ import annotations

import csv
import io

from metagenx.engine.result import FitResult, ParameterResult

PARAMETER_COLUMNS = (
    "name",
    "value",
    "start",
    "min",
    "max",
    "error_low",
    "error_high",
    "relative_position",
    "complete",
    "flags",
)
"""Header of ``parameters.csv``. ``relative_position``: 0 at ``min``, 1 at ``max``; ``complete``:
``false`` on every row of a fit cut short (its values are the best so far); ``flags``: what is
doubtful about the value, ``;``-separated (:mod:`metagenx.engine.flags`), empty when nothing."""


def number(value: float | None) -> str:
    """A float as the shortest text that reads back to the same float (``repr``); ``None`` as ''.

    Non-finite values are written ``nan``, ``inf``, ``-inf`` (Python's ``float()`` reads them back).
    """
    return "" if value is None else repr(float(value))


def parameter_row(parameter: ParameterResult, complete: bool = True) -> list[str]:
    """One CSV row of :data:`PARAMETER_COLUMNS` for ``parameter`` (of a complete fit, or not)."""
    return [
        parameter.name,
        number(parameter.value),
        number(parameter.start),
        number(parameter.min),
        number(parameter.max),
        number(parameter.error_low),
        number(parameter.error_high),
        number(parameter.relative_position),
        "true" if complete else "false",
        "; ".join(parameter.flags),
    ]


def parameters_csv(result: FitResult) -> str:
    """CSV text: a header row, then one row per fitted parameter in grid order; ``\\n`` line ends.

    Promises: every number reads back with ``float()`` to exactly the value in ``result``;
    missing error bars are empty cells.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PARAMETER_COLUMNS)
    writer.writerows(parameter_row(p, result.complete) for p in result.parameters)
    return buffer.getvalue()
