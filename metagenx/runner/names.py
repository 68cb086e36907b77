"""The parameters a runner reports for its task, checked against the task and against each other.

A snapshot names the fitted parameters of the task's model. The first snapshot of a task must
agree with the task's own changes (a parameter the task fits is named, one it fixes is not); every
later snapshot, and the result, must name exactly the same parameters in the same order. A runner
that changes its story is refused with :class:`~metagenx.errors.RunnerProtocolError`.
"""

from __future__ import annotations

from metagenx.errors import RunnerProtocolError
from metagenx.events import Finished, RunnerMessage, Snapshot
from metagenx.jobs import FitTask


class ParameterNames:
    """The fitted parameters' names one task's runner has reported (None until its first snapshot)."""

    def __init__(self, task: FitTask) -> None:
        self.task = task
        self.names: tuple[str, ...] | None = None

    def check(self, message: RunnerMessage) -> None:
        """Raise :class:`RunnerProtocolError` when ``message`` names other parameters than the task's."""
        match message:
            case Snapshot(parameters=parameters):
                self.agree(tuple(p.name for p in parameters), "snapshot")
            case Finished(result=result) if self.names is not None:
                self.agree(tuple(p.name for p in result.parameters), "result")

    def agree(self, names: tuple[str, ...], what: str) -> None:
        if self.names is None:
            self.first(names)
            self.names = names
        elif names != self.names:
            raise RunnerProtocolError(
                f"the runner of job {self.task.job_id} sent a {what} naming other parameters than its "
                "first snapshot; a task's fitted parameters do not change"
            )

    def first(self, names: tuple[str, ...]) -> None:
        fitted = set(names)
        for override in self.task.overrides:
            if override.fit is True and override.name not in fitted:
                raise RunnerProtocolError(
                    f"the runner of job {self.task.job_id} sent a snapshot without parameter "
                    f"{override.name!r}, which the job fits"
                )
            if override.fit is False and override.name in fitted:
                raise RunnerProtocolError(
                    f"the runner of job {self.task.job_id} sent a snapshot fitting parameter "
                    f"{override.name!r}, which the job keeps fixed"
                )
