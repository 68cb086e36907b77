"""The runner's uncertainty step: sample a finished fit's posterior when its settings ask for it.

The sampling (:mod:`metagenx.engine.posterior`) runs after the fit, in the runner, and sends
its progress as ``progress`` messages carrying a :class:`~metagenx.engine.posterior.SamplingStatus`. Its
summary goes into ``result.extra["posterior"]``; the 68 % interval's offsets become the
result's error bars and the fitted model's error column. A sampling that cannot run (a data
point without an error bar, a bumps failure) leaves the fit as it is and says why in
``extra["posterior"]["skipped"]``.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import replace

from metagenx.engine.model import GenxModel
from metagenx.engine.posterior import (
    RECORD_TEXT,
    Posterior,
    SamplingCallback,
    SamplingSettings,
    SamplingStatus,
    apply_to_grid,
    sample_posterior,
)
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings
from metagenx.errors import MetagenxError

log = logging.getLogger(__name__)


OUTPUT_SHARE = 0.1
"""Share of a task's time limit kept free after the sampling, for the output files (at least
:data:`OUTPUT_SECONDS`)."""
OUTPUT_SECONDS = 3.0


def sampling_settings(
    settings: FitSettings, result: FitResult, time_left: float | None = None
) -> SamplingSettings:
    """The sampling the fit's settings ask for, seeded from the fit's seed; with ``time_left`` (s
    until the task's limit), its time cap ends it early enough for the output files."""
    cap = settings.uncertainty_time
    if time_left is not None:
        cap = min(cap, time_left - max(OUTPUT_SECONDS, OUTPUT_SHARE * time_left))
    return SamplingSettings(
        samples=settings.uncertainty_samples,
        burn=settings.uncertainty_burn,
        max_time=cap,
        seed=result.seed,
    )


def with_posterior(
    model: GenxModel,
    result: FitResult,
    settings: FitSettings,
    stop: threading.Event,
    progress: SamplingCallback | None = None,
    time_left: float | None = None,
) -> tuple[FitResult, Posterior | None]:
    """``result`` with its posterior (``extra["posterior"]`` and the error bars), and the posterior
    itself for the output files; or ``result`` with why there is none. ``time_left``: seconds
    until the task's time limit, None when it has none."""
    sampling = sampling_settings(settings, result, time_left)
    if sampling.max_time <= 0:
        why = (
            f"no time left for it within the fit's time limit (the fit itself took {result.wall_time:.3g} s)"
        )
        return skipped(result, why), None
    try:
        posterior = sample_posterior(model, sampling, stop_event=stop, progress=progress)
    except MetagenxError as exc:
        return skipped(result, str(exc)), None
    except Exception as exc:  # bumps or GenX failing inside the sampler: the fit stands
        log.warning("posterior sampling failed:\n%s", traceback.format_exc())
        return skipped(result, f"the sampler failed: {type(exc).__name__}: {exc}"), None
    if posterior.stop == "time" and sampling.max_time < settings.uncertainty_time:
        suffix = " (shortened to end inside the fit's time limit)"
        note = posterior.note[: RECORD_TEXT - len(suffix)] + suffix
        posterior = replace(posterior, note=note)
    if posterior.stop == "stopped":
        return skipped(result, f"the sampling was stopped on request after {posterior.seconds:.3g} s"), None
    apply_to_grid(model, posterior)
    by_name = {p.name: p for p in posterior.parameters}
    parameters = [
        replace(p, error_low=by_name[p.name].error_low, error_high=by_name[p.name].error_high)
        if p.name in by_name
        else p
        for p in result.parameters
    ]
    extra = {**result.extra, "posterior": posterior.to_dict()}
    return replace(result, parameters=parameters, extra=extra), posterior


def skipped(result: FitResult, why: str) -> FitResult:
    """``result`` saying why it has no posterior (cut to what the runner boundary accepts)."""
    return replace(result, extra={**result.extra, "posterior": {"skipped": why[:RECORD_TEXT]}})


class Throttle:
    """Calls ``send`` at most every ``interval`` seconds (always for the first call)."""

    def __init__(self, send: SamplingCallback, interval: float) -> None:
        self.send = send
        self.interval = interval
        self.last = -float("inf")

    def __call__(self, status: SamplingStatus, elapsed: float) -> None:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.send(status, elapsed)
