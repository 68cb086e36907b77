"""What a sandboxed runner may use: the limits of one fit, and how the sandbox is set up.

:class:`Limits` are per fit (CPU seconds, memory, wall time, output size, processes,
open files, ``/tmp`` size); a server keeps one set and may override fields per user
with :meth:`Limits.merged`. :class:`SandboxPolicy` adds where ``bwrap`` is, which
uids the runners get, and whether the optional kernel layers (Landlock, seccomp,
a nested user namespace) must be present (``required``), are used where available
(``auto``), or are left out (``off``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from metagenx.errors import SettingsError
from metagenx.jobs import FitTask

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


def format_bytes(size: float) -> str:
    """``2147483648`` → ``"2 GiB"``, ``52428800`` → ``"50 MiB"`` (at most one decimal)."""
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{int(size)} bytes"


def format_seconds(seconds: float) -> str:
    """``10.0`` → ``"10 s"``, ``0.5`` → ``"0.5 s"``."""
    return f"{seconds:.1f}".removesuffix(".0") + " s"


@dataclass(frozen=True)
class Limits:
    """Limits of one fit in a sandboxed runner.

    Attributes:
        cpu_seconds: CPU time of the fit, all its processes together, s.
        memory_bytes: memory of the fit: the address space of each process, and the
            resident memory of all its processes together, bytes.
        wall_seconds: wall-clock time of the fit, s.
        max_output_bytes: bytes the fit may write to its job directory (and the
            largest single file anywhere).
        max_processes: processes and threads the runner may have at once.
        open_files: file descriptors per process.
        tmp_size: size of the sandbox's private ``/tmp`` (in memory), bytes.
    """

    cpu_seconds: float = 3600.0
    memory_bytes: int = 4 * GiB
    wall_seconds: float = 4 * 3600.0
    max_output_bytes: int = 512 * MiB
    max_processes: int = 64
    open_files: int = 256
    tmp_size: int = 256 * MiB

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise SettingsError(f"sandbox limit {item.name} must be a positive number, not {value!r}")
        if self.max_processes < 4:
            raise SettingsError("sandbox limit max_processes must be at least 4 (a runner has 2 threads)")
        if self.memory_bytes < 256 * MiB:
            raise SettingsError("sandbox limit memory_bytes must be at least 256 MiB (GenX needs ~200 MiB)")
        if self.open_files < 32:
            raise SettingsError("sandbox limit open_files must be at least 32")

    def merged(self, overrides: Mapping[str, Any] | None) -> Limits:
        """These limits with the fields named in ``overrides`` replaced (None values are ignored).

        Raises :class:`~metagenx.errors.SettingsError` for an unknown name or a bad value.
        """
        known = {f.name: f.type for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for name, value in (overrides or {}).items():
            if name not in known:
                raise SettingsError(f"unknown sandbox limit {name!r}; known: {', '.join(known)}")
            if value is not None:
                changes[name] = float(value) if known[name] == "float" else int(value)
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        """One line for people: ``CPU 3600 s, memory 4 GiB, wall 4 h ...``."""
        return (
            f"CPU {format_seconds(self.cpu_seconds)}, memory {format_bytes(self.memory_bytes)}, "
            f"wall {format_seconds(self.wall_seconds)}, output {format_bytes(self.max_output_bytes)}, "
            f"{self.max_processes} processes, {self.open_files} open files, "
            f"/tmp {format_bytes(self.tmp_size)}"
        )


class Layer(StrEnum):
    """Whether an optional layer must be there (``required``), is used if there (``auto``), or not used."""

    REQUIRED = "required"
    AUTO = "auto"
    OFF = "off"


@dataclass(frozen=True)
class SandboxPolicy:
    """How sandboxed runners are set up.

    Attributes:
        limits: limits of every fit, unless ``limits_for`` says otherwise.
        bwrap: the bubblewrap program, a name looked up on ``PATH`` or a path.
        uid_base: first of ``uid_count`` uids (and gids of the same numbers) given to
            runners, one each: the sandboxes of two runners never share a uid, so
            one cannot use up the other's process limit. They need no entry in
            ``/etc/passwd``; none of them may belong to a real account.
        uid_count: how many uids, i.e. the most sandboxed runners at once on this machine.
        landlock: Landlock rules (file system and TCP) inside the sandbox.
        seccomp: the seccomp filter (no sockets but Unix ones, no namespaces, no ptrace, no io_uring).
        user_namespace: a fresh user namespace of the runner's own uid.
        limits_for: limits of one task (e.g. its owner's overrides merged); None: ``limits``.
        poll_interval: seconds between the watchdog's looks at a running fit.
    """

    limits: Limits = field(default_factory=Limits)
    bwrap: str = "bwrap"
    uid_base: int = 70000
    uid_count: int = 256
    landlock: Layer = Layer.AUTO
    seccomp: Layer = Layer.AUTO
    user_namespace: Layer = Layer.AUTO
    limits_for: Callable[[FitTask], Limits] | None = field(default=None, compare=False)
    poll_interval: float = 0.25

    def task_limits(self, task: FitTask) -> Limits:
        """The limits that apply to ``task``."""
        return self.limits_for(task) if self.limits_for is not None else self.limits


class SandboxMode(StrEnum):
    """How a server runs fits: always sandboxed, or (explicitly, loudly) not at all."""

    REQUIRED = "required"
    UNSAFE_OFF = "unsafe-off"


UNSAFE_WARNING = """\
!!! WARNING: metagenx is running fits WITHOUT A SANDBOX (--unsafe-no-sandbox) !!!
Every uploaded .hgx/.gx model carries a Python script that runs with this server's
rights: it can read every user's data and the server's secrets, reach the network,
fill the disk and stop the machine. Use this only on a private machine where you
trust every file. See docs/security.md."""
"""Printed at start-up and shown on the dashboard when fits run unsandboxed."""
