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
    "sigma_jacobian",
)
"""Header of ``parameters.csv``. ``relative_position``: 0 at ``min``, 1 at ``max``; ``complete``:
``false`` on every row of a fit cut short (its values are the best so far); ``flags``: what is
doubtful about the value, ``;``-separated (:mod:`metagenx.engine.flags`), empty when nothing;
``sigma_jacobian``: the standard deviation from the Jacobian covariance at the optimum
(:mod:`metagenx.engine.covariance`, a linear approximation), empty when not computed."""


def number(value: float | None) -> str:
    """A float as the shortest text that reads back to the same float (``repr``); ``None`` as ''.

    Non-finite values are written ``nan``, ``inf``, ``-inf`` (Python's ``float()`` reads them back).
    """
    return "" if value is None else repr(float(value))


def jacobian_sigma(result: FitResult) -> dict[str, float]:
    """Standard deviation per parameter name from ``result.extra["covariance"]`` (empty when none)."""
    found = result.extra.get("covariance")
    if not isinstance(found, dict) or not isinstance(found.get("names"), list):
        return {}
    sigma = found.get("sigma") or []
    return {
        str(name): float(value)
        for name, value in zip(found["names"], sigma, strict=False)
        if isinstance(value, int | float)
    }


def parameter_row(parameter: ParameterResult, complete: bool = True, sigma: float | None = None) -> list[str]:
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
        number(sigma),
    ]


def parameters_csv(result: FitResult) -> str:
    """CSV text: a header row, then one row per fitted parameter in grid order; ``\\n`` line ends.

    Promises: every number reads back with ``float()`` to exactly the value in ``result``;
    missing error bars are empty cells.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PARAMETER_COLUMNS)
    sigma = jacobian_sigma(result)
    writer.writerows(parameter_row(p, result.complete, sigma.get(p.name)) for p in result.parameters)
    return buffer.getvalue()
