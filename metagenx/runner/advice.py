"""The runner's advisor step: after a finished fit that writes files, the beamtime advice.

Runs where the model is loaded (its script runs here), after the Jacobian covariance and the
posterior sampling: ``result.extra["advisor"]`` gets the advice of
:mod:`metagenx.engine.advisor` (predicted σ now and after counting longer, the information
range per parameter, the pairs not separable) and, when the posterior was sampled, the predicted
σ beside the posterior's standard deviation and their ratio; or ``{"skipped": why}``. The parent
reads it back as untrusted data (:func:`metagenx.engine.advice.advice_from`).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import replace

from metagenx.engine.covariance import Jacobian
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult

log = logging.getLogger(__name__)


def with_advice(model: GenxModel, result: FitResult, jacobian: Jacobian | None = None) -> FitResult:
    """``result`` with ``extra["advisor"]``; the model is left at its fitted values. ``jacobian``:
    the one the covariance step computed at these values (else it is computed here)."""
    from metagenx.engine.advice import Invalid, check_record
    from metagenx.engine.advisor import advise, posterior_checks
    from metagenx.engine.covariance import weighted_jacobian
    from metagenx.engine.fit import instrument_axis

    covariance = result.extra.get("covariance")
    if isinstance(covariance, dict) and str(covariance.get("skipped", "")).startswith("would take"):
        return skipped(result, str(covariance["skipped"]))  # the same 2p simulations: as costly
    try:
        if jacobian is None:
            jacobian = weighted_jacobian(model)
        if jacobian is None:
            return skipped(result, "no data point has an error bar")
        advice = advise(jacobian, instrument_axis(model))
    except Exception as exc:  # a GenX failure while shifting parameters: the fit stands
        log.warning("the advisor failed:\n%s", traceback.format_exc())
        return skipped(result, f"the advisor failed: {type(exc).__name__}: {exc}")
    found = posterior_std(result)
    if found:
        advice = replace(advice, posterior=posterior_checks(advice, found))
    record = advice.to_dict()
    try:
        check_record(record)  # what the parent will check: a record it refuses would fail the fit
    except Invalid as exc:
        return skipped(result, f"the advisor's record is out of bounds: {exc}")
    return replace(result, extra={**result.extra, "advisor": record})


def posterior_std(result: FitResult) -> dict[str, float]:
    """The posterior's standard deviation per parameter name (empty when not sampled)."""
    from metagenx.outputs.tables import posterior_rows

    found = {}
    for name, summary in posterior_rows(result).items():
        std = summary.get("std")
        if isinstance(std, int | float):
            found[name] = float(std)
    return found


def skipped(result: FitResult, why: str) -> FitResult:
    return replace(result, extra={**result.extra, "advisor": {"skipped": why}})
