"""Sandboxed runners: what a server hands to ``LocalExecutor(runner_factory=...)``.

A :class:`SandboxedRunnerProcess` behaves like a :class:`~metagenx.runner.process.RunnerProcess`
to the executor, but its child runs in a :class:`~metagenx.sandbox.session.Sandbox`,
started at its first task (the sandbox mounts that task's study directory and files)
and kept warm for the next tasks of the same study. Each task runs under a
:class:`~metagenx.sandbox.watchdog.Watchdog`. A task that hits a limit ends with an
``error`` whose message names the limit, and its sandbox is thrown away; so is a
sandbox in which a model left processes behind. When the sandbox is required but not
available, every task ends with an ``error`` saying what is missing, and nothing runs.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from pathlib import Path
from typing import ClassVar

from metagenx.errors import MetagenxError, OutputError, RunnerProtocolError
from metagenx.events import Failed, Ready, RunnerMessage, Started
from metagenx.jobs import FitTask
from metagenx.runner.process import EventHandler, Outcome, RunnerDied, RunnerProcess, death_reason
from metagenx.runner.protocol import Command
from metagenx.sandbox import reasons, uids
from metagenx.sandbox.command import Mounts, cpu_backstop, mounts_for
from metagenx.sandbox.errors import LimitExceededError, SandboxUnavailableError
from metagenx.sandbox.policy import UNSAFE_WARNING, Limits, SandboxMode, SandboxPolicy
from metagenx.sandbox.probe import cached_report
from metagenx.sandbox.session import Sandbox
from metagenx.sandbox.watchdog import Watchdog
from metagenx.sandbox.workdir import hand_over, take_back


def failure(task: FitTask, kind: str, message: str) -> Outcome:
    """An ``error`` outcome for ``task`` made on this side (the runner never saw the task)."""
    return Outcome(Failed(task.job_id, kind, message))


class SandboxedRunnerProcess(RunnerProcess):
    """A warm runner whose child lives in a sandbox; ``policy`` (or the class's) says how.

    Nothing starts until the first task (or :meth:`wait_ready`). Not thread-safe, like
    its base, except :meth:`kill` and :meth:`request_stop`.
    """

    default_policy: ClassVar[SandboxPolicy] = SandboxPolicy()

    def __init__(self, policy: SandboxPolicy | None = None) -> None:  # no process yet: see run()
        self.policy = policy or self.default_policy
        self.sandbox: Sandbox | None = None
        self.ready: Ready | None = None
        self.tasks_run = 0
        self.lock = threading.Lock()
        self.closed = False

    # -- the RunnerProcess interface ---------------------------------------------------
    @property
    def pid(self) -> int:
        return self.sandbox.pid if self.sandbox is not None else 0

    def alive(self) -> bool:
        """True until the runner is closed or its sandbox has ended (a fresh runner is alive)."""
        if self.closed:
            return False
        return self.sandbox is None or self.sandbox.alive()

    def wait_ready(self) -> Ready:
        """Start a sandbox without task mounts if none runs yet; return its runner's ``ready`` message."""
        if self.sandbox is None:
            cached_report(self.policy).require()
            self.start(self.policy.limits, Mounts())
        assert self.sandbox is not None
        return self.sandbox.runner.wait_ready()

    def run(self, task: FitTask, on_event: EventHandler | None = None) -> Outcome:
        """Run ``task`` in the sandbox; a limit or a missing sandbox ends it with an ``error``."""
        report = cached_report(self.policy)
        if not report.ok:
            return failure(task, SandboxUnavailableError.__name__, report.message())
        try:
            limits = self.policy.task_limits(task)
            task = self.limited(task, limits)
            mounts = mounts_for(task)
            sandbox = self.sandbox_for(limits, mounts)
        except MetagenxError as exc:
            return failure(task, type(exc).__name__, str(exc))
        job_dir = Path(task.output).parent if task.output is not None else None
        try:
            if job_dir is not None:
                hand_over(job_dir, sandbox.uid, sandbox.uid)
            self.tasks_run += 1
            return self.supervise(sandbox, task, limits, job_dir, on_event)
        except RunnerProtocolError:
            raise  # the runner broke the protocol: the executor records it as a security event
        except MetagenxError as exc:
            return failure(task, type(exc).__name__, str(exc))
        finally:
            if self.sandbox is not None and self.sandbox.strays():
                self.retire()  # a model left processes behind: they die with their sandbox
            if job_dir is not None:
                take_back(job_dir, *uids.server_ids())

    @staticmethod
    def limited(task: FitTask, limits: Limits) -> FitTask:
        """``task`` told the time it has before the watchdog stops it (the smaller of the wall-time
        and CPU limits), so that the runner's optional steps end inside it."""
        return dataclasses.replace(task, time_limit=min(limits.wall_seconds, limits.cpu_seconds))

    def supervise(
        self,
        sandbox: Sandbox,
        task: FitTask,
        limits: Limits,
        job_dir: Path | None,
        on_event: EventHandler | None,
    ) -> Outcome:
        """Run ``task`` under a watchdog; turn limit deaths and limit errors into limit messages."""
        watchdog = Watchdog(sandbox.pid, limits, job_dir, sandbox.kill, self.policy.poll_interval)
        try:
            with watchdog:
                outcome = sandbox.runner.run(task, self.forwarder(sandbox, on_event))
        except RunnerProtocolError:
            self.retire()  # its stream is out of step, and its model may be hostile
            raise
        except RunnerDied:
            returncode = sandbox.runner.process.returncode or 0
            last_words = sandbox.runner.stderr_tail()
            limit = watchdog.reason or reasons.from_death(returncode, limits, watchdog.peak_rss)
            self.retire()
            if limit is not None:
                return failure(task, LimitExceededError.__name__, limit)
            signal_number = reasons.exit_signal(returncode)
            if signal_number is not None:  # bwrap reports a killed runner as exit status 128 + signal
                raise RunnerDied(death_reason(-signal_number, last_words)) from None
            raise
        failed = outcome.message
        limit = reasons.from_error(failed, limits, job_dir) if isinstance(failed, Failed) else None
        if limit is None:
            return outcome
        self.retire()  # the runner hit a kernel limit: it may be in any state now
        return failure(task, LimitExceededError.__name__, limit)

    def request_stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.runner.request_stop()

    def kill(self) -> None:
        if self.sandbox is not None:
            self.sandbox.kill()

    def close(self, timeout: float = 5.0) -> None:
        self.closed = True
        self.retire()

    def write(self, message: Command) -> None:
        if self.sandbox is None:
            raise RunnerDied("the sandboxed runner has not started")
        self.sandbox.runner.write(message)

    def read_message(self) -> RunnerMessage:
        if self.sandbox is None:
            raise RunnerDied("the sandboxed runner has not started")
        return self.sandbox.runner.read_message()

    def stderr_tail(self) -> str:
        return self.sandbox.runner.stderr_tail() if self.sandbox is not None else ""

    def close_pipes(self) -> None:
        if self.sandbox is not None:
            self.sandbox.runner.close_pipes()

    # -- sandboxes ---------------------------------------------------------------------
    def sandbox_for(self, limits: Limits, mounts: Mounts) -> Sandbox:
        """The running sandbox if it suits ``limits`` and ``mounts`` and has CPU time left, else a new one."""
        current = self.sandbox
        if current is not None:
            fits = current.alive() and current.limits == limits and current.mounts.covers(mounts)
            budget = cpu_backstop(limits) - current.child_cpu() - limits.cpu_seconds
            if fits and budget > 10:
                return current
            if current.mounts.writable == mounts.writable:
                mounts = Mounts(mounts.writable, mounts.readonly | current.mounts.readonly)
            self.retire()
        return self.start(limits, mounts)

    def start(self, limits: Limits, mounts: Mounts) -> Sandbox:
        """Start a sandbox and wait for its runner; raise :class:`SandboxUnavailableError` if it fails."""
        bwrap = cached_report(self.policy).bwrap or self.policy.bwrap
        if mounts.writable is not None:
            try:
                os.makedirs(mounts.writable, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot create the directory {mounts.writable}: {exc.strerror}") from None
        sandbox = Sandbox(bwrap, self.policy, limits, mounts)
        try:
            self.ready = sandbox.start()
        except (RunnerDied, RunnerProtocolError) as died:
            message = sandbox.startup_failure(died)
            sandbox.close()
            raise SandboxUnavailableError(message) from None
        self.sandbox = sandbox
        return sandbox

    def retire(self) -> None:
        """End the current sandbox, if any (the next task starts a new one)."""
        if self.sandbox is not None:
            sandbox, self.sandbox = self.sandbox, None
            sandbox.close()

    def forwarder(self, sandbox: Sandbox, on_event: EventHandler | None) -> EventHandler:
        """Pass events on, with the runner's host pid in ``started`` (its pid inside means little outside)."""

        def forward(message: RunnerMessage) -> None:
            if on_event is None:
                return
            if isinstance(message, Started) and sandbox.child_pid is not None:
                message = dataclasses.replace(message, pid=sandbox.child_pid)
            on_event(message)

        return forward


def sandboxed_runner_factory(policy: SandboxPolicy | None = None) -> type[RunnerProcess]:
    """A runner class for ``LocalExecutor(workers, runner_factory=...)`` whose runners use ``policy``."""
    chosen = policy or SandboxPolicy()

    class PolicyRunner(SandboxedRunnerProcess):
        default_policy = chosen

    return PolicyRunner


def runner_factory_for(mode: SandboxMode, policy: SandboxPolicy | None = None) -> type[RunnerProcess]:
    """The runner class for ``mode``: sandboxed, or plain (``unsafe-off``, printing the warning)."""
    if mode is SandboxMode.UNSAFE_OFF:
        print(UNSAFE_WARNING, file=sys.stderr, flush=True)
        return RunnerProcess
    return sandboxed_runner_factory(policy)
