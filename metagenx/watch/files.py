"""Which files of a watched folder are ready to fit: matching, complete, and with new content."""

from __future__ import annotations

import fnmatch
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from metagenx.store import file_sha256

SETTLE_SECONDS = 0.5
"""A file counts as complete once its size and modification time stayed the same this long."""


@dataclass(frozen=True)
class Stamp:
    """Size (bytes) and modification time (ns) of a file when it was looked at."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Stamp | None:
        try:
            status = path.stat()
        except OSError:
            return None
        return cls(status.st_size, status.st_mtime_ns)


def matches(path: Path, pattern: str) -> bool:
    """True for a regular, non-hidden file whose name matches ``pattern`` (shell-style, e.g. ``*.dat``)."""
    return not path.name.startswith(".") and fnmatch.fnmatch(path.name, pattern) and path.is_file()


def candidates(folder: Path, pattern: str) -> list[Path]:
    """Matching files in ``folder`` in arrival order (modification time, then name)."""
    found = [p for p in folder.iterdir() if matches(p, pattern)]
    return sorted(found, key=lambda p: (Stamp.of(p) or Stamp(0, 0)).mtime_ns)


class Settler:
    """Tracks files until they are complete: unchanged in size and mtime for ``settle`` seconds.

    A file still being written (growing, or touched) is never reported, so it is never
    read half-way. ``ready()`` returns each complete file once per distinct content stamp.
    """

    def __init__(self, settle: float = SETTLE_SECONDS) -> None:
        self.settle = settle
        self.watching: dict[Path, tuple[Stamp, float]] = {}
        self.reported: dict[Path, Stamp] = {}

    def saw(self, path: Path) -> None:
        """Note that ``path`` was created or changed (or exists at start-up)."""
        stamp = Stamp.of(path)
        if stamp is None:
            self.watching.pop(path, None)
            return
        if self.reported.get(path) == stamp:
            return
        previous = self.watching.get(path)
        if previous is None or previous[0] != stamp:
            self.watching[path] = (stamp, time.monotonic())

    def ready(self) -> list[Path]:
        """Files whose stamp has not changed for ``settle`` s since last seen changing."""
        now = time.monotonic()
        done = []
        for path, (stamp, since) in list(self.watching.items()):
            current = Stamp.of(path)
            if current is None:
                del self.watching[path]
            elif current != stamp:
                self.watching[path] = (current, now)
            elif now - since >= self.settle and current.size > 0:
                del self.watching[path]
                self.reported[path] = current
                done.append(path)
        return done

    @property
    def pending(self) -> int:
        return len(self.watching)


def arrivals(
    folder: Path, pattern: str, stop: threading.Event, *, settle: float = SETTLE_SECONDS, tick: float = 0.2
) -> Iterator[list[Path]]:
    """The files of ``folder`` matching ``pattern`` as they become complete, until ``stop`` is set.

    Files already there when it starts count as arrived. Yields a list (often empty) at least
    every ``tick`` seconds, so the caller can do its own periodic work between arrivals.
    """
    import watchfiles

    settler = Settler(settle)
    for path in candidates(folder, pattern):
        settler.saw(path)
    here = folder.resolve()
    for changes in watchfiles.watch(
        folder, stop_event=stop, rust_timeout=int(tick * 1000), yield_on_timeout=True, recursive=False
    ):
        for _, name in changes:
            path = Path(name)
            if path.parent.resolve() != here:
                continue
            if matches(path, pattern) or not path.exists():
                settler.saw(path)
        yield settler.ready()


def content_hash(path: Path) -> str | None:
    """SHA-256 of the file, or None if it vanished."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def relative_name(path: Path, folder: Path) -> str:
    return os.path.relpath(path, folder)
