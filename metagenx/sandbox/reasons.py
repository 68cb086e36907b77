"""Why a sandboxed fit was stopped, in words that name the limit it hit.

A limit shows up in one of three ways: the watchdog saw it (CPU, wall time, memory,
output), the kernel refused something and the runner reported the error (``MemoryError``,
``EFBIG``, ``EAGAIN`` from ``fork``, ``EMFILE``, ``ENOSPC``), or the kernel killed the
process (``SIGXCPU``, ``SIGXFSZ``, ``SIGKILL`` near the memory limit).
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

from metagenx.events import Failed
from metagenx.sandbox.policy import Limits, format_bytes, format_seconds


def cpu(limits: Limits) -> str:
    return f"stopped: used more than {format_seconds(limits.cpu_seconds)} of CPU time"


def wall(limits: Limits) -> str:
    return f"stopped: ran longer than the wall-time limit of {format_seconds(limits.wall_seconds)}"


def memory(limits: Limits) -> str:
    return f"stopped: used more than {format_bytes(limits.memory_bytes)} of memory"


def output_file(limits: Limits) -> str:
    return f"stopped: wrote a file larger than the output limit of {format_bytes(limits.max_output_bytes)}"


def output_total(limits: Limits) -> str:
    return f"stopped: wrote more than the output limit of {format_bytes(limits.max_output_bytes)}"


def processes(limits: Limits) -> str:
    return f"stopped: started more than {limits.max_processes} processes"


def open_files(limits: Limits) -> str:
    return f"stopped: opened more than {limits.open_files} files at once"


def disk_space(limits: Limits) -> str:
    return f"stopped: ran out of disk space (the sandbox's /tmp holds {format_bytes(limits.tmp_size)})"


ERROR_PATTERNS = (
    (re.compile(r"MemoryError|ran out of memory|\[Errno 12\]|Cannot allocate memory"), memory),
    (re.compile(r"\[Errno 27\]|File too large"), output_file),
    (re.compile(r"\[Errno 11\]|Resource temporarily unavailable|can't start new thread"), processes),
    (re.compile(r"\[Errno 24\]|Too many open files"), open_files),
    (re.compile(r"\[Errno 28\]|No space left on device"), disk_space),
)


def from_error(message: Failed, limits: Limits, job_dir: Path | None = None) -> str | None:
    """The limit behind a runner's ``error`` message, or None if it is an ordinary error (or the
    host's disk, not the sandbox's ``/tmp``, refused the files of the job in ``job_dir``)."""
    if message.kind == "OutputError" and job_dir is not None and str(job_dir) in message.message:
        return None
    text = f"{message.kind}: {message.message}"
    for pattern, reason in ERROR_PATTERNS:
        if pattern.search(text):
            return reason(limits)
    return None


def exit_signal(returncode: int) -> int | None:
    """The signal that ended a sandboxed runner: bubblewrap exits with 128 + signal for a killed child."""
    if returncode < 0:
        return -returncode
    if 128 < returncode < 128 + 65:
        return returncode - 128
    return None


def from_death(returncode: int, limits: Limits, peak_rss: int) -> str | None:
    """The limit behind a runner's death, or None if it died of something else."""
    sig = exit_signal(returncode)
    if sig == signal.SIGXCPU:
        return cpu(limits)
    if sig == signal.SIGXFSZ:
        return output_file(limits)
    if sig == signal.SIGKILL and peak_rss >= 0.8 * limits.memory_bytes:
        return memory(limits)
    return None
