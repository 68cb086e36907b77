"""What happens to a job, as typed events: from a runner, an executor, a coordinator or the controller.

Every event is a frozen dataclass with a ``type`` tag. A runner may send only :data:`RunnerMessage`
events, decoded and checked at the boundary by :mod:`metagenx.runner.protocol`; executors add
:class:`Crashed`, :class:`Dropped` and :class:`Violation`; coordinators (solve, tune) add
:class:`Log` and :class:`TuneFinished`; the controller tells its listeners :class:`Claimed` and
:class:`Cancelled`. Consumers ``match`` on the types; :func:`is_terminal` says which event ends a
task (exactly one per submitted task).

Units: ``elapsed`` in seconds since the fit started; ``best_fom`` is the figure of merit (None
while no finite value exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from metagenx.engine.posterior import SamplingStatus
from metagenx.engine.result import FitResult


@dataclass(frozen=True)
class Ready:
    """A runner has imported GenX and waits for tasks (once, before its first task)."""

    pid: int
    genx_version: str
    type: Literal["ready"] = field(default="ready", repr=False)


@dataclass(frozen=True)
class Started:
    """The runner began the task ``job_id``; ``pid`` is its process (on the host it runs on, where
    known), ``worker`` the address of the Dask worker it runs on (None: this machine)."""

    job_id: int
    pid: int
    worker: str | None = None
    type: Literal["started"] = field(default="started", repr=False)


@dataclass(frozen=True)
class SolveStatus:
    """How a solve stands: starts running and ended, how many agree on the best FOM, and the confidence."""

    running: int
    ended: int
    agreeing: int
    confidence: float


@dataclass(frozen=True)
class Progress:
    """The best FOM after ``generation`` (``evaluations`` so far, ``elapsed`` s); a solve adds ``solve``;
    a fit sampling its posterior after the fit adds ``sampling`` (``elapsed`` then counts the
    sampling's seconds)."""

    job_id: int
    generation: int
    best_fom: float | None
    evaluations: int
    elapsed: float
    solve: SolveStatus | None = None
    sampling: SamplingStatus | None = None
    type: Literal["progress"] = field(default="progress", repr=False)


@dataclass(frozen=True)
class CurrentValue:
    """One fitted parameter's value in the current best solution."""

    name: str
    value: float


@dataclass(frozen=True)
class CurrentCurve:
    """One data set: measured points and the current best solution's simulation (x in the data's own
    unit, e.g. Å⁻¹ or °; ``x_axis`` as in :data:`~metagenx.engine.result.X_AXES`). None stands for a
    point that is not a finite number."""

    name: str
    use: bool
    x: list[float | None]
    y: list[float | None]
    error: list[float | None]
    simulated: list[float | None]
    x_axis: str = ""


@dataclass(frozen=True)
class Snapshot:
    """A running fit's current best solution after ``generation``: the fitted parameters' values and
    the simulation they give, against the data (sent every few seconds, not every generation)."""

    job_id: int
    generation: int
    best_fom: float | None
    parameters: list[CurrentValue]
    datasets: list[CurrentCurve]
    type: Literal["snapshot"] = field(default="snapshot", repr=False)


@dataclass(frozen=True)
class Finished:
    """The task ended with a fit. ``stop_reason`` overrides the result's own (a solve's reason)."""

    job_id: int
    result: FitResult
    stop_reason: str | None = None
    type: Literal["result"] = field(default="result", repr=False)


@dataclass(frozen=True)
class Failed:
    """The task ended without a fit; ``kind`` names the error class, ``message`` says why for people."""

    job_id: int
    kind: str
    message: str
    type: Literal["error"] = field(default="error", repr=False)


@dataclass(frozen=True)
class Crashed:
    """The runner died under the task (killed, crashed, a lost worker): the job may run again."""

    job_id: int
    reason: str
    type: Literal["crashed"] = field(default="crashed", repr=False)


@dataclass(frozen=True)
class Dropped:
    """The task never ran (killed while queued, executor shut down): the job is queued again, uncharged."""

    job_id: int
    reason: str
    type: Literal["dropped"] = field(default="dropped", repr=False)


@dataclass(frozen=True)
class Violation:
    """The runner of ``job_id`` broke the protocol (a malformed message, or one about another job).

    The runner was killed; the job fails with ``reason`` and the event is kept as a security event.
    """

    job_id: int
    reason: str
    type: Literal["violation"] = field(default="violation", repr=False)


@dataclass(frozen=True)
class Log:
    """A line for the job's log (e.g. a tune's run of one trial)."""

    job_id: int
    message: str
    type: Literal["log"] = field(default="log", repr=False)


@dataclass(frozen=True)
class TuneFinished:
    """A tune job ended: its report (trials and best settings) and why it ended."""

    job_id: int
    report: dict[str, Any]
    stop_reason: str
    type: Literal["tune"] = field(default="tune", repr=False)


@dataclass(frozen=True)
class Claimed:
    """The controller took the queued job ``job_id`` and handed it to the executor."""

    job_id: int
    type: Literal["claimed"] = field(default="claimed", repr=False)


@dataclass(frozen=True)
class Cancelled:
    """The controller cancelled ``job_id`` (its task's own end follows as another event)."""

    job_id: int
    type: Literal["cancelled"] = field(default="cancelled", repr=False)


@dataclass(frozen=True)
class Requeued:
    """The controller queued ``job_id`` again: it had been cancelled because the job it started
    from failed, and now starts from an earlier one (a sequential watch's next files)."""

    job_id: int
    label: str
    type: Literal["requeued"] = field(default="requeued", repr=False)


RunnerMessage = Ready | Started | Progress | Snapshot | Finished | Failed
"""Everything a runner child may send."""

TaskEnd = Finished | Failed | Crashed | Dropped | Violation | TuneFinished
"""The one event that ends each submitted task."""

ExecutorEvent = Started | Progress | Snapshot | Log | TaskEnd
"""What an executor (or a coordinator on the controller's executor) reports about a task."""

Event = ExecutorEvent | Claimed | Cancelled | Requeued
"""Everything the controller's listeners are told."""

TERMINAL = (Finished, Failed, Crashed, Dropped, Violation, TuneFinished)


def is_terminal(event: Event | Ready) -> bool:
    """True for the one event that ends a task; no event of that task follows it."""
    return isinstance(event, TERMINAL)
