"""The per-fit watchdog: wall time, CPU time, memory and output of one fit, checked from outside.

A warm runner runs many fits, so the kernel's per-process limits cannot be per fit:
``RLIMIT_CPU`` only grows, and a forked child starts its own count. The watchdog
therefore measures the whole sandbox (every process in it) against a baseline taken
when the fit starts, and kills the sandbox the moment a fit goes over a limit. The
kernel's limits stay as a backstop (see :func:`metagenx.sandbox.command.rlimits`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from metagenx.sandbox import reasons
from metagenx.sandbox.accounting import Usage, directory_size, usage
from metagenx.sandbox.policy import Limits


class Watchdog:
    """Watches the sandbox rooted at ``pid`` while one fit runs; calls ``kill`` on a breach.

    ``reason`` is the limit message once one was hit (None otherwise); ``peak_rss`` the
    largest resident memory seen, bytes.
    """

    def __init__(
        self,
        pid: int,
        limits: Limits,
        output_dir: Path | None,
        kill: Callable[[], None],
        interval: float = 0.25,
    ) -> None:
        self.pid = pid
        self.limits = limits
        self.output_dir = output_dir
        self.kill = kill
        self.interval = interval
        self.reason: str | None = None
        self.peak_rss = 0
        self.baseline = usage(pid)
        self.output_baseline = self.output_size()
        self.started = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, name=f"metagenx-watchdog-{pid}", daemon=True)

    def __enter__(self) -> Watchdog:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def output_size(self) -> int:
        if self.output_dir is None:
            return 0
        return directory_size(self.output_dir, stop_at=2 * self.limits.max_output_bytes)

    def loop(self) -> None:
        while not self.done.wait(self.interval):
            reason = self.check()
            if reason is not None:
                self.reason = reason
                self.kill()
                return

    def check(self, now: Usage | None = None) -> str | None:
        """The limit the fit is over right now, or None."""
        limits = self.limits
        if time.monotonic() - self.started > limits.wall_seconds:
            return reasons.wall(limits)
        now = now or usage(self.pid)
        self.peak_rss = max(self.peak_rss, now.rss_bytes)
        if now.cpu_seconds - self.baseline.cpu_seconds > limits.cpu_seconds:
            return reasons.cpu(limits)
        if now.rss_bytes > limits.memory_bytes:
            return reasons.memory(limits)
        if self.output_size() - self.output_baseline > limits.max_output_bytes:
            return reasons.output_total(limits)
        return None
