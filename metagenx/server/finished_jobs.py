"""The JSON of jobs, kept in memory: a status read of a finished or running job costs a dictionary lookup.

A finished job does not change until something acts on it (a retry, a delete), and every such
action passes through the server, which calls :meth:`FinishedJobs.forget`. A running job
changes with each of its events (state, log, result), which reach the server as controller
events and call :meth:`FinishedJobs.forget` too; a progress report only moves its figures on
(:meth:`FinishedJobs.changed`), at most a few times a second. A read that raced with a change
cannot store a stale body: :meth:`FinishedJobs.ticket` is taken before the read and
:meth:`FinishedJobs.put` stores only while the ticket is still the job's latest.

Pages of job lists made only of finished jobs are kept too, under the cache's ``version``,
which every change of any job (a submission, a state change, a delete) moves on: a page is
served from memory until the next change anywhere.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

CAPACITY = 2000
"""Jobs kept (least recently read dropped first); a few MB for typical results."""
PAGES = 256
"""List pages kept."""


@dataclass(frozen=True)
class CachedJob:
    owner: str
    body: bytes


class FinishedJobs:
    """A bounded, thread-safe cache of finished jobs' JSON bodies, keyed by job id."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.lock = threading.Lock()
        self.entries: OrderedDict[int, CachedJob] = OrderedDict()
        self.changes: dict[int, int] = {}
        self.version = 0
        self.pages: OrderedDict[tuple[Hashable, int], bytes] = OrderedDict()

    def get(self, job_id: int) -> CachedJob | None:
        with self.lock:
            entry = self.entries.get(job_id)
            if entry is not None:
                self.entries.move_to_end(job_id)
            return entry

    def ticket(self, job_id: int) -> int:
        """Take before reading the job from the store; hand to :meth:`put`."""
        with self.lock:
            return self.changes.get(job_id, 0)

    def put(self, job_id: int, ticket: int, owner: str, body: bytes) -> None:
        """Keep ``body`` unless the job changed since ``ticket`` was taken."""
        with self.lock:
            if self.changes.get(job_id, 0) != ticket:
                return
            self.entries[job_id] = CachedJob(owner, body)
            self.entries.move_to_end(job_id)
            while len(self.entries) > self.capacity:
                self.entries.popitem(last=False)

    def forget(self, job_id: int) -> None:
        """The job changed (or is about to): drop it and every page; refuse bodies read before now."""
        with self.lock:
            self.entries.pop(job_id, None)
            self.changes[job_id] = self.changes.get(job_id, 0) + 1
            self.version += 1
            self.pages.clear()

    def changed(self, job_id: int) -> None:
        """The job's own body changed (its progress), not its place in any list: drop it alone."""
        with self.lock:
            self.entries.pop(job_id, None)
            self.changes[job_id] = self.changes.get(job_id, 0) + 1

    def page(self, query: Hashable) -> tuple[bytes | None, int]:
        """The kept page for ``query`` (None if none), and the version to :meth:`put_page` a fresh one at."""
        with self.lock:
            return self.pages.get((query, self.version)), self.version

    def put_page(self, query: Hashable, version: int, body: bytes) -> None:
        """Keep a page of finished jobs read at ``version`` (dropped if any job changed since)."""
        with self.lock:
            if version != self.version:
                return
            self.pages[(query, version)] = body
            while len(self.pages) > PAGES:
                self.pages.popitem(last=False)
