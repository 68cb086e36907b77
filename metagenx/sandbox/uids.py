"""The unprivileged uids of sandboxed runners: one each, never shared while in use.

The kernel counts processes per real uid (``RLIMIT_NPROC``), so a runner with a uid of
its own cannot use up another runner's process budget, and cannot signal it either.
The uids need no account; they must not belong to anyone else.
"""

from __future__ import annotations

import grp
import os
import pwd
import threading
from pathlib import Path

_lock = threading.Lock()
_taken: set[int] = set()


def uids_in_use() -> set[int]:
    """Real uids of every process on this machine (from ``/proc``)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            with open(entry / "status", encoding="ascii", errors="replace") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        found.add(int(line.split()[1]))
                        break
        except OSError:
            continue
    return found


def accounts_in_range(base: int, count: int) -> list[str]:
    """Users and groups (``/etc/passwd``, ``/etc/group``) whose id lies in ``[base, base + count)``.

    Runners use these numbers as uid *and* gid, so a group there would hand its files to them.
    """
    users = [f"user {e.pw_name} ({e.pw_uid})" for e in pwd.getpwall() if base <= e.pw_uid < base + count]
    groups = [f"group {e.gr_name} ({e.gr_gid})" for e in grp.getgrall() if base <= e.gr_gid < base + count]
    return users + groups


def allocate(base: int, count: int) -> int | None:
    """Take the lowest uid of ``[base, base + count)`` that no runner of this process and no
    process on the machine uses; None when all are busy."""
    busy = uids_in_use()
    with _lock:
        for uid in range(base, base + count):
            if uid not in _taken and uid not in busy:
                _taken.add(uid)
                return uid
    return None


def release(uid: int) -> None:
    """Give ``uid`` back (its sandbox has ended)."""
    with _lock:
        _taken.discard(uid)


def server_ids() -> tuple[int, int]:
    """The uid and gid outputs are handed back to once a fit ends (this process's)."""
    return os.geteuid(), os.getegid()
