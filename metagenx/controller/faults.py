"""Storage faults the controller survives: a full disk, a read-only file system, an I/O error.

When the job store cannot be written, or a fit cannot write its files, the controller does not
stop and loses nothing: it keeps the events it could not record, takes no new job, and retries
with a growing delay (:class:`StorageFault`). A job whose files could not be written goes back
to the queue, uncharged. As soon as a write works again, everything resumes without a restart.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

STORAGE_PROBLEMS = (
    ("No space left on device", "the disk is full"),
    ("database or disk is full", "the disk is full"),
    ("Disk quota exceeded", "the disk quota is exceeded"),
    ("Read-only file system", "the file system is read-only"),
    ("attempt to write a readonly database", "the job database is read-only"),
    ("Input/output error", "the disk reports I/O errors"),
    ("disk I/O error", "the disk reports I/O errors"),
)
"""What the operating system or SQLite says → what metagenx tells people."""

FIRST_DELAY = 0.5
MAX_DELAY = 10.0
PROBE_BYTES = 64 * 1024


def storage_problem(text: str) -> str | None:
    """The storage fault ``text`` (an error message) reports, in plain words, or None."""
    return next((said for found, said in STORAGE_PROBLEMS if found in text), None)


def writable(folder: Path) -> bool:
    """Whether ``folder`` takes a new file of :data:`PROBE_BYTES` bytes (written, synced, removed)."""
    probe = folder / f".metagenx-probe-{secrets.token_hex(4)}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * PROBE_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


@dataclass
class StorageFault:
    """A storage fault in progress: what it is, since when, and when to try again."""

    reason: str
    folder: Path | None = None
    """The folder whose writes failed (a job's); None: the job store."""
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    delay: float = FIRST_DELAY
    next_try: float = field(default_factory=lambda: time.monotonic() + FIRST_DELAY)

    def due(self) -> bool:
        return time.monotonic() >= self.next_try

    def failed_again(self) -> None:
        """Another try failed: wait longer before the next (up to :data:`MAX_DELAY` s)."""
        self.delay = min(2 * self.delay, MAX_DELAY)
        self.next_try = time.monotonic() + self.delay

    def describe(self) -> str:
        where = f"writing files in {self.folder.name}" if self.folder is not None else "writing the job store"
        return (
            f"{self.reason} ({where}) since {self.since:%Y-%m-%d %H:%M:%S} UTC; no new job starts and "
            "nothing is lost: work resumes by itself when writes work again (free space, or fix the disk)"
        )
