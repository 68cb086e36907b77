"""The parent side of a runner: start the child, hand it tasks, follow its messages, survive its death.

Everything the child writes is untrusted (the model's script runs there): each line is decoded and
checked by :mod:`metagenx.runner.protocol`, and a message is accepted only about the task the
runner was given. Anything else raises :class:`~metagenx.errors.RunnerProtocolError`, after which
the runner must be killed (its stream can no longer be trusted to be in step).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from metagenx.engine.runtime import THREAD_VARIABLES
from metagenx.errors import RunnerProtocolError
from metagenx.events import Failed, Finished, Ready, RunnerMessage
from metagenx.jobs import FitTask
from metagenx.runner.names import ParameterNames
from metagenx.runner.protocol import (
    Command,
    Exit,
    Run,
    Stop,
    Warm,
    decode_runner_message,
    encode,
    plain_text,
    read_line,
)

EventHandler = Callable[[RunnerMessage], None]

STDERR_TAIL = 4000
"""Characters of the child's stderr kept for the reason of a crash."""


class RunnerDied(Exception):
    """The runner process ended while a task was running (killed, crashed, or exited)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """How a task ended: the ``result`` or ``error`` message from the child."""

    message: Finished | Failed

    @property
    def ok(self) -> bool:
        return isinstance(self.message, Finished)


def runner_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a runner child: this one, threads pinned to 1, Agg plots, unbuffered."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = "1"
    env["MPLBACKEND"] = "Agg"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def death_reason(returncode: int, stderr_tail: str) -> str:
    """A human reason for a runner's exit status (negative: killed by that signal)."""
    if returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        hint = {
            "SIGKILL": " (killed: out of memory, a limit, or by hand)",
            "SIGSEGV": " (crashed: segmentation fault)",
            "SIGXCPU": " (CPU time limit reached)",
            "SIGXFSZ": " (file size limit reached)",
        }.get(name, "")
        reason = f"runner process was killed by {name}{hint}"
    else:
        reason = f"runner process exited with status {returncode}"
    last = [line for line in stderr_tail.strip().splitlines() if line.strip()]
    return f"{reason}; its last words: {plain_text(last[-1].strip(), 500)}" if last else reason


def check_bound(task: FitTask, message: RunnerMessage) -> None:
    """Raise :class:`RunnerProtocolError` unless ``message`` speaks for ``task`` (the one task its
    runner was given): a second ``ready``, or a message about any other job, is refused."""
    if isinstance(message, Ready):
        raise RunnerProtocolError("the runner sent 'ready' again in the middle of a task")
    if message.job_id != task.job_id:
        raise RunnerProtocolError(
            f"the runner of job {task.job_id} sent a {message.type!r} message about job "
            f"{message.job_id}; a runner speaks only for its own task"
        )


class RunnerProcess:
    """One warm runner child. Not thread-safe: one supervisor thread drives it.

    ``command`` replaces ``[python, -m, metagenx.runner.child]`` (e.g. wrapped in a
    sandbox); ``env`` is the child's full environment.
    """

    def __init__(self, command: Sequence[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.command = list(command or [sys.executable, "-m", "metagenx.runner.child"])
        self.stderr: IO[bytes] = tempfile.TemporaryFile(prefix="metagenx-runner-")  # noqa: SIM115 (lives with the runner)
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env if env is not None else runner_environment(),
            start_new_session=True,
        )
        self.lock = threading.Lock()
        self.ready: Ready | None = None
        self.tasks_run = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self) -> Ready:
        """Block until the child has imported GenX; raise :class:`RunnerDied` if it died first, and
        :class:`RunnerProtocolError` if it sent anything else first."""
        if self.ready is None:
            message = self.read_message()
            if not isinstance(message, Ready):
                raise RunnerProtocolError(f"the runner sent {message.type!r} before 'ready'")
            self.ready = message
        return self.ready

    def run(self, task: FitTask, on_event: EventHandler | None = None) -> Outcome:
        """Run ``task`` to its end, passing every message about it to ``on_event``.

        Raises :class:`RunnerDied` when the child ends first, and :class:`RunnerProtocolError` for a
        malformed message, a second ``ready``, a message about any job but ``task``'s, or one that
        names other fitted parameters than the task's (:class:`ParameterNames`): the caller must
        then kill the runner.
        """
        self.wait_ready()
        self.write(Run(task))
        self.tasks_run += 1
        names = ParameterNames(task)
        while True:
            message = self.read_message()
            check_bound(task, message)
            names.check(message)
            if on_event is not None:
                on_event(message)
            if isinstance(message, Finished | Failed):
                return Outcome(message)

    def request_stop(self) -> None:
        """Ask the current fit to stop after its generation; its best result still comes back."""
        with contextlib.suppress(OSError):
            self.write(Stop())

    def warm(self) -> None:
        """Ask an idle runner to load what its first outputs need (plots); tasks sent after wait for it."""
        self.write(Warm())

    def write(self, message: Command) -> None:
        assert self.process.stdin is not None
        with self.lock:
            self.process.stdin.write(encode(message))
            self.process.stdin.flush()

    def read_message(self) -> RunnerMessage:
        """The child's next message, decoded and checked; :class:`RunnerDied` at the end of its output."""
        assert self.process.stdout is not None
        line = read_line(self.process.stdout)
        if line is None:
            returncode = self.process.wait()
            raise RunnerDied(death_reason(returncode, self.stderr_tail()))
        return decode_runner_message(line)

    def stderr_tail(self) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - STDERR_TAIL))
            return self.stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""

    def kill(self) -> None:
        """Kill the child and everything it started (its own session)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self, timeout: float = 5.0) -> None:
        """Ask the child to exit, and kill it if it does not within ``timeout`` s."""
        if self.alive():
            try:
                self.write(Exit())
                self.process.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        self.close_pipes()

    def close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout, self.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
