"""Scheduling in the server: per-user limits of running fits, and a controller that stops cleanly.

The controller claims jobs in submission order; :class:`ServerController` leaves out the
owners that have reached their limit of running fits (:class:`RunningLimits`), so their
next jobs wait while other users' jobs run. On stop it records nothing more: the fits it
kills then are re-queued without being charged an attempt (see :meth:`Controller.abort`).
"""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metagenx.controller import Controller
from metagenx.executors import Executor
from metagenx.store import Job, JobState, Store
from metagenx.store.models import User

LIMITS_REFRESH = 5.0
"""Seconds a read of the users' running limits is reused."""


class RunningLimits:
    """Which owners are at their limit of running fits (checked before every claim)."""

    def __init__(self, default: int | None) -> None:
        self.default = default
        self.per_user: dict[str, int | None] = {}
        self.read_at = -LIMITS_REFRESH

    def owners_at_limit(self, session: Session) -> set[str]:
        """Owners whose running fits reached their limit (theirs, else the server's default)."""
        if time.monotonic() - self.read_at > LIMITS_REFRESH:
            rows = session.execute(select(User.name, User.max_running)).tuples()
            self.per_user = {name: limit for name, limit in rows if limit is not None}
            self.read_at = time.monotonic()
        if self.default is None and not self.per_user:
            return set()
        running = session.execute(
            select(Job.owner, func.count()).where(Job.state == JobState.RUNNING).group_by(Job.owner)
        ).tuples()
        full = set()
        for owner, count in running:
            limit = self.per_user.get(owner, self.default)
            if limit is not None and count >= limit:
                full.add(owner)
        return full


class ServerController(Controller):
    """The controller of a server: honours per-user running limits and stops without charging fits."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        limits: RunningLimits,
        *,
        max_solve_budget: float | None = None,
        output_limit: int | None = None,
    ) -> None:
        super().__init__(store, executor, max_solve_budget=max_solve_budget, output_limit=output_limit)
        self.limits = limits

    def owners_to_skip(self, session: Session) -> set[str]:
        """Owners at their limit of running fits: their next jobs wait while others run."""
        return self.limits.owners_at_limit(session)
