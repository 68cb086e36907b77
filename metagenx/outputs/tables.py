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
    "median",
    "p68_low",
    "p68_high",
    "p95_low",
    "p95_high",
    "r_hat",
)
"""Header of ``parameters.csv``. ``relative_position``: 0 at ``min``, 1 at ``max``; ``complete``:
``false`` on every row of a fit cut short (its values are the best so far); ``flags``: what is
doubtful about the value, ``;``-separated (:mod:`metagenx.engine.flags`), empty when nothing;
``sigma_jacobian``: the standard deviation from the Jacobian covariance at the optimum
(:mod:`metagenx.engine.covariance`, a linear approximation), empty when not computed;
``median`` … ``r_hat``: the posterior's median, 68 % and 95 % central credible intervals and
Gelman–Rubin R̂ (:mod:`metagenx.engine.posterior`), empty when the posterior was not sampled.
With a posterior, ``error_low``/``error_high`` are the 68 % interval's ends minus ``value``."""

POSTERIOR_COLUMNS = 6


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


def posterior_rows(result: FitResult) -> dict[str, dict[str, object]]:
    """The posterior's summary per parameter name from ``result.extra["posterior"]`` (empty when none)."""
    found = result.extra.get("posterior")
    if not isinstance(found, dict) or not isinstance(found.get("parameters"), list):
        return {}
    return {str(p.get("name")): p for p in found["parameters"] if isinstance(p, dict)}


def posterior_cells(summary: dict[str, object] | None) -> list[str]:
    """The posterior columns of one row: median, 68 % and 95 % ends, R̂ (empty cells without one)."""
    if summary is None:
        return [""] * POSTERIOR_COLUMNS
    p68 = summary.get("p68") or (None, None)
    p95 = summary.get("p95") or (None, None)
    values = [summary.get("median"), *p68, *p95, summary.get("r_hat")]  # type: ignore[misc]
    return [number(v) if isinstance(v, int | float) else "" for v in values]


def parameter_row(
    parameter: ParameterResult,
    complete: bool = True,
    sigma: float | None = None,
    posterior: dict[str, object] | None = None,
) -> list[str]:
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
        *posterior_cells(posterior),
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
    posterior = posterior_rows(result)
    writer.writerows(
        parameter_row(p, result.complete, sigma.get(p.name), posterior.get(p.name)) for p in result.parameters
    )
    return buffer.getvalue()


def draws_csv(names: list[str], sample: object) -> str:
    """CSV text of posterior draws: a header of parameter names, one row per draw."""
    import numpy as np

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([number(v) for v in row] for row in np.asarray(sample, dtype=float))
    return buffer.getvalue()
