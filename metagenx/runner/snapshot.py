"""Snapshots of a running fit: its current best parameters and their simulation against the data.

The runner sends one every :data:`~metagenx.runner.protocol.SNAPSHOT_INTERVAL` seconds while the
fit runs (never more often, whatever the generation rate) and one with the fit's own values when it
ends. A snapshot costs one simulation of the model. It is built within the protocol's bounds (long
data are thinned to :data:`~metagenx.runner.protocol.MAX_SNAPSHOT_POINTS` points); a model whose
snapshot could not pass the protocol's checks (too many parameters or data sets, names with control
characters) sends none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from metagenx.errors import RunnerProtocolError
from metagenx.events import CurrentCurve, CurrentValue, Snapshot
from metagenx.runner.protocol import MAX_SNAPSHOT_POINTS, SNAPSHOT_INTERVAL, check_snapshot

if TYPE_CHECKING:
    from metagenx.engine.model import GenxModel
    from metagenx.engine.result import FitResult


def finite(values: Iterable[float]) -> list[float | None]:
    """``values`` as floats, None where a value is not a finite number."""
    return [v if math.isfinite(v) else None for v in map(float, values)]


def stride_for(lengths: Sequence[int]) -> int:
    """Every how many points to keep so that all data sets together hold at most the snapshot limit."""
    return max(1, math.ceil(sum(lengths) / MAX_SNAPSHOT_POINTS))


def model_curves(model: GenxModel) -> list[CurrentCurve]:
    """Measured points and the last simulation of every data set of ``model``, thinned to the limit."""
    from metagenx.engine.fit import instrument_axis

    data = list(model.model.data)
    step = stride_for([len(d.x) for d in data])
    axis = instrument_axis(model)
    curves = []
    for d in data:
        simulated = getattr(d, "y_sim", None)
        y_sim = np.asarray(
            simulated if simulated is not None and len(simulated) else np.full(len(d.x), np.nan)
        )
        x, y, error, simulated = (
            finite(np.asarray(c, dtype=float)[::step]) for c in (d.x, d.y, d.error, y_sim)
        )
        curves.append(CurrentCurve(str(d.name), bool(d.use), x, y, error, simulated, x_axis=axis))
    return curves


def model_snapshot(job_id: int, generation: int, best_fom: float, model: GenxModel) -> Snapshot | None:
    """The optimizer's best solution so far, simulated; None while it has none."""
    best = getattr(model.optimizer, "best_vec", None)
    if best is None or len(best) != len(model.fit_parameters):
        return None
    model.set_fit_values(np.asarray(best, dtype=float))
    model.simulate(recompile=False)
    parameters = [CurrentValue(p.name, p.value) for p in model.fit_parameters]
    fom = best_fom if math.isfinite(best_fom) else None
    return Snapshot(job_id, generation, fom, parameters, model_curves(model))


def result_snapshot(job_id: int, result: FitResult) -> Snapshot:
    """The ended fit's own values and simulation."""
    lengths = [len(c.x) for c in result.datasets]
    step = stride_for(lengths)
    curves = [
        CurrentCurve(
            c.name,
            c.use,
            finite(c.x[::step]),
            finite(c.y[::step]),
            finite(c.error[::step]),
            finite(c.simulated[::step]),
            x_axis=c.x_axis,
        )
        for c in result.datasets
    ]
    parameters = [CurrentValue(p.name, p.value) for p in result.parameters]
    fom = result.fom if math.isfinite(result.fom) else None
    return Snapshot(job_id, result.generations, fom, parameters, curves)


class Snapshots:
    """Sends a task's snapshots through ``send``: at most one per ``interval`` s while its fit runs."""

    def __init__(
        self, job_id: int, send: Callable[[Snapshot], None], interval: float = SNAPSHOT_INTERVAL
    ) -> None:
        self.job_id = job_id
        self.send = send
        self.interval = interval
        self.model: GenxModel | None = None
        self.last = -math.inf
        self.working = True

    def after_generation(self, generation: int, best_fom: float) -> None:
        """Send a snapshot when ``interval`` s have passed since the last (and at the first report)."""
        now = time.monotonic()
        if self.model is None or not self.working or now - self.last < self.interval:
            return
        self.last = now
        try:
            snapshot = model_snapshot(self.job_id, generation, best_fom, self.model)
        except Exception:  # a snapshot must never end the fit (the fit reports its own errors)
            self.working = False
            return
        if snapshot is not None:
            self.offer(snapshot)

    def at_end(self, result: FitResult) -> None:
        """Send the ended fit's snapshot (when the fit's snapshots could be sent at all)."""
        if self.working:
            self.offer(result_snapshot(self.job_id, result))

    def offer(self, snapshot: Snapshot) -> None:
        try:
            check_snapshot(snapshot)
        except RunnerProtocolError:
            self.working = False  # this model's snapshots would be refused: send none
            return
        self.send(snapshot)
