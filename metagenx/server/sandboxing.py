"""The server's sandbox: every fit runs in it unless the server was started with ``--unsafe-no-sandbox``.

Limits per fit come from the server's settings, with each user's own overrides
(``metagenx user add NAME --cpu-seconds ...``) merged in when the fit starts.
"""

from __future__ import annotations

import logging
from typing import Literal

from metagenx.jobs import FitTask
from metagenx.runner.process import RunnerProcess
from metagenx.sandbox import (
    UNSAFE_WARNING,
    Limits,
    SandboxMode,
    SandboxPolicy,
    SandboxReport,
    check_sandbox,
    runner_factory_for,
)
from metagenx.server.settings import Settings
from metagenx.store import Job, Store, find_user

log = logging.getLogger(__name__)

GiB = 1024**3
MiB = 1024**2


def server_limits(settings: Settings) -> Limits:
    """The limits of every fit on this server (units: s, bytes)."""
    return Limits(
        cpu_seconds=settings.limit_cpu_seconds,
        memory_bytes=int(settings.limit_memory_gib * GiB),
        wall_seconds=settings.limit_wall_seconds,
        max_output_bytes=int(settings.limit_output_mib * MiB),
    )


def user_limits(store: Store, base: Limits, task: FitTask) -> Limits:
    """``base`` with the overrides of the task's owner (called from the executor's slot threads)."""
    with store.session() as session:
        job = session.get(Job, task.stored_job_id)
        user = find_user(session, job.owner) if job is not None else None
        return base.merged(user.limits if user is not None else None)


class ServerSandbox:
    """The sandbox mode, policy and start-up report of one server."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.mode = SandboxMode.UNSAFE_OFF if settings.unsafe_no_sandbox else SandboxMode.REQUIRED
        base = server_limits(settings)
        self.policy = SandboxPolicy(
            limits=base, bwrap=settings.bwrap, limits_for=lambda task: user_limits(store, base, task)
        )
        self.report: SandboxReport | None = None
        self.remote = settings.executor == "dask"

    def check(self) -> str:
        """Check the layers (a trial sandbox) and say what was found, for the start-up log."""
        if self.mode is SandboxMode.UNSAFE_OFF:
            return UNSAFE_WARNING
        if self.remote:
            return (
                "sandbox: every fit runs in a sandbox on its Dask worker, which checks the layers before "
                f"each fit (a worker without them fails the fit, naming what is missing)\n"
                f"limits per fit: {self.policy.limits.describe()}"
            )
        self.report = check_sandbox(self.policy)
        text = self.report.describe() + f"\nlimits per fit: {self.policy.limits.describe()}"
        if self.report.missing():
            text += "\n" + self.report.message() + "\nEvery job will fail until this is fixed."
        return text

    def runner_factory(self) -> type[RunnerProcess]:
        return runner_factory_for(self.mode, self.policy)

    @property
    def state(self) -> Literal["on", "off", "unavailable"]:
        """``on``, ``off`` (--unsafe-no-sandbox) or ``unavailable`` (required but missing layers)."""
        if self.mode is SandboxMode.UNSAFE_OFF:
            return "off"
        return "unavailable" if self.report is not None and self.report.missing() else "on"
