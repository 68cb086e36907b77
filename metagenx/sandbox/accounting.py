"""What a sandbox's processes use, read by the trusted parent from ``/proc``.

The processes of a sandbox are the descendants of its ``bwrap`` process: nothing in
it can leave that tree (an orphan is adopted by the sandbox's own init). CPU time
counts live processes and the children they (or init) have already reaped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Usage:
    """CPU time (s), resident memory (bytes) and number of processes of a process tree."""

    cpu_seconds: float = 0.0
    rss_bytes: int = 0
    processes: int = 0


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's), [] if it is gone."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found.extend(int(x) for x in handle.read().split())
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive now."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        todo.extend(children(current))
    return found


def stat(pid: int) -> tuple[float, int] | None:
    """CPU seconds (own and reaped children's) and resident bytes of one process; None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on; the name may hold spaces
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / TICKS, int(fields[21]) * PAGE


def proportional_memory(pid: int) -> int | None:
    """Resident bytes of one process with pages shared among processes split between them (PSS)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def usage(pid: int) -> Usage:
    """What the tree of ``pid`` uses now (memory as PSS, so forked copies are not counted twice)."""
    cpu, rss, count = 0.0, 0, 0
    for member in tree(pid):
        values = stat(member)
        if values is not None:
            cpu += values[0]
            pss = proportional_memory(member)
            rss += values[1] if pss is None else pss
            count += 1
    return Usage(cpu, rss, count)


def status_field(pid: int, name: str) -> list[str]:
    """The values of one line of ``/proc/<pid>/status`` (e.g. ``Uid``, ``NSpid``); [] if gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key == name:
                    return value.split()
    except OSError:
        pass
    return []


def processes_of(pid: int, uid: int) -> list[int]:
    """The processes in the tree of ``pid`` whose real uid is ``uid`` (those of the runner's user)."""
    return [p for p in tree(pid) if status_field(p, "Uid")[:1] == [str(uid)]]


def host_pid(pid: int, uid: int, inner_pid: int) -> int | None:
    """The host pid of the process of ``uid`` that calls itself ``inner_pid`` inside the sandbox."""
    for member in processes_of(pid, uid):
        ids = status_field(member, "NSpid")
        if ids and ids[-1] == str(inner_pid):
            return member
    return None


def directory_size(path: Path, stop_at: int | None = None) -> int:
    """Bytes of the regular files under ``path`` (symlinks not followed); stops counting past ``stop_at``."""
    total = 0
    todo = [path]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    todo.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
            if stop_at is not None and total > stop_at:
                return total
    return total
