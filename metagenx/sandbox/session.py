"""One running sandbox: ``bwrap`` with the launcher and a warm runner child inside, under a uid of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from metagenx.errors import RunnerProtocolError
from metagenx.events import Ready
from metagenx.runner.process import RunnerDied, RunnerProcess
from metagenx.sandbox import accounting, uids
from metagenx.sandbox.command import Mounts, bwrap_command
from metagenx.sandbox.errors import SandboxUnavailableError
from metagenx.sandbox.policy import Limits, SandboxPolicy

STARTUP_PREFIX = "metagenx-sandbox:"

SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metagenx-sandbox-spawner")
"""Starts every ``bwrap``. ``--die-with-parent`` ties a sandbox to the *thread* that started it
(``PR_SET_PDEATHSIG``), so they are all started from this one thread, which lives as long as
the process: a sandbox then dies with the process, not with a short-lived caller thread."""


class Sandbox:
    """A sandboxed runner for one set of limits and mounts.

    Raises :class:`SandboxUnavailableError` when no uid is free, and
    :class:`~metagenx.runner.process.RunnerDied` (from :meth:`start`) when the sandbox
    or the runner in it could not start.
    """

    def __init__(self, bwrap: str, policy: SandboxPolicy, limits: Limits, mounts: Mounts) -> None:
        uid = uids.allocate(policy.uid_base, policy.uid_count)
        if uid is None:
            last = policy.uid_base + policy.uid_count - 1
            raise SandboxUnavailableError(
                f"all {policy.uid_count} sandbox uids ({policy.uid_base}–{last}) are in use; "
                "raise SandboxPolicy.uid_count or run fewer workers"
            )
        self.uid = uid
        self.limits = limits
        self.mounts = mounts
        self.child_pid: int | None = None
        self.released = False
        try:
            command = bwrap_command(bwrap, policy, limits, mounts, uid)
            self.runner = SPAWNER.submit(RunnerProcess, command, {"PATH": "/usr/bin:/bin"}).result()
        except BaseException:
            uids.release(uid)
            raise

    @property
    def pid(self) -> int:
        """Host pid of the ``bwrap`` process (the root of the sandbox's process tree)."""
        return self.runner.pid

    def start(self) -> Ready:
        """Wait until the runner inside has imported GenX; return its ``ready`` message."""
        ready = self.runner.wait_ready()
        self.child_pid = accounting.host_pid(self.pid, self.uid, ready.pid)
        return ready

    def alive(self) -> bool:
        return self.runner.alive()

    def child_cpu(self) -> float:
        """CPU seconds the runner child has used in its life (what ``RLIMIT_CPU`` counts)."""
        values = accounting.stat(self.child_pid) if self.child_pid is not None else None
        return values[0] if values is not None else 0.0

    def strays(self) -> list[int]:
        """Processes of the sandbox's user other than the runner child (left behind by a model)."""
        return [p for p in accounting.processes_of(self.pid, self.uid) if p != self.child_pid]

    def kill(self) -> None:
        """Kill every process of the sandbox now (thread-safe).

        Killing the sandbox's init (the only child of ``bwrap``) makes the kernel kill
        everything else in its pid namespace at once; then ``bwrap`` itself.
        """
        if self.runner.alive():
            for init in accounting.children(self.pid):
                with contextlib.suppress(OSError):
                    os.kill(init, signal.SIGKILL)
        self.runner.kill()

    def close(self) -> None:
        """End the sandbox and give its uid back once none of its processes is left."""
        self.runner.close(timeout=2.0)
        self.kill()
        self.runner.close_pipes()
        deadline = time.monotonic() + 5.0
        while self.uid in uids.uids_in_use() and time.monotonic() < deadline:
            time.sleep(0.05)  # the kernel is still tearing the pid namespace down
        if not self.released:
            self.released = True
            uids.release(self.uid)

    def startup_failure(self, died: RunnerDied | RunnerProtocolError) -> str:
        """Why the sandbox did not start, for people."""
        tail = self.runner.stderr_tail()
        lines = [line.strip() for line in tail.splitlines() if line.strip()]
        ours = [
            line.removeprefix(STARTUP_PREFIX).strip() for line in lines if line.startswith(STARTUP_PREFIX)
        ]
        bwrap = [line for line in lines if line.startswith("bwrap:")]
        detail = (ours or bwrap or [str(died)])[-1]
        return f"the sandbox could not be set up: {detail}"
