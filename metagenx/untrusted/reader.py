"""Read users' files for the server in the sandbox: check an upload, expand a study, read an order value.

Everything that opens an uploaded file with h5py, GenX or a data loader happens in a short-lived
child process (:mod:`metagenx.untrusted.child`) under the same sandbox as fits (bubblewrap, an
unprivileged uid, no network, the files it needs mounted read-only, nothing writable but a small
``/tmp``; CPU, memory, file-size and wall-time limits). Its answer is untrusted data: decoded
strictly (:mod:`metagenx.untrusted.messages`) and checked for what it claims
(:mod:`metagenx.untrusted.specs`). A server that requires the sandbox and cannot set it up refuses
with :class:`~metagenx.sandbox.errors.SandboxUnavailableError`; only ``--unsafe-no-sandbox`` reads
in a plain child process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from metagenx.engine.files import ModelFormat
from metagenx.errors import (
    DataFileError,
    MetagenxError,
    ModelFileError,
    RunnerProtocolError,
    StudyDefinitionError,
)
from metagenx.jobs import JobSpec
from metagenx.runner.process import runner_environment
from metagenx.sandbox import accounting, uids
from metagenx.sandbox.command import Mounts, bwrap_command
from metagenx.sandbox.errors import LimitExceededError, SandboxUnavailableError
from metagenx.sandbox.policy import GiB, Limits, MiB, SandboxMode, SandboxPolicy, format_bytes, format_seconds
from metagenx.sandbox.probe import cached_report
from metagenx.sandbox.session import SPAWNER, STARTUP_PREFIX
from metagenx.untrusted.messages import (
    MAX_ANSWER_BYTES,
    Answer,
    CheckModel,
    ExpandStudy,
    ModelChecked,
    OrderValueRead,
    ReadOrderValue,
    Refused,
    Request,
    StudyExpanded,
    decode_answer,
    encode,
)
from metagenx.untrusted.specs import checked_specs

READ_LIMITS = Limits(
    cpu_seconds=60.0,
    memory_bytes=1 * GiB,
    wall_seconds=120.0,
    max_output_bytes=MAX_ANSWER_BYTES + MiB,
    max_processes=32,
    open_files=128,
    tmp_size=64 * MiB,
)
"""Limits of one read: GenX's import and a template's load need ~300 MiB and a few seconds."""

ERRORS: dict[str, type[MetagenxError]] = {
    "ModelFileError": ModelFileError,
    "UnsafeModelFileError": ModelFileError,
    "DataFileError": DataFileError,
    "StudyDefinitionError": StudyDefinitionError,
}
"""The errors a refusal is raised as on this side (by the kind the reader named); others: the caller's."""


class UntrustedReader:
    """Reads uploaded files in the sandbox of ``policy`` (``mode`` ``unsafe-off``: in a plain process).

    ``limits`` bound each read (its memory is also capped by the policy's own per-fit limit).
    Thread-safe: each read is a process of its own.
    """

    def __init__(self, mode: SandboxMode, policy: SandboxPolicy, limits: Limits = READ_LIMITS) -> None:
        self.mode = mode
        self.policy = policy
        self.limits = dataclasses.replace(
            limits, memory_bytes=min(limits.memory_bytes, max(policy.limits.memory_bytes, 256 * MiB))
        )

    # -- the questions ---------------------------------------------------------------------------
    def check_model(self, path: Path, max_bytes: int) -> ModelFormat:
        """The format of the uploaded model at ``path``; :class:`ModelFileError` naming what is wrong."""
        answer = self.ask(CheckModel(str(path), max_bytes), [str(path)], ModelFileError)
        if not isinstance(answer, ModelChecked):
            raise RunnerProtocolError(f"the file reader answered {answer.type!r} to a model check")
        return ModelFormat(answer.format)

    def expand_study(self, definition: Mapping[str, Any], folder: Path, template: Path) -> list[JobSpec]:
        """The jobs of a study whose files are in ``folder``, checked to stay inside it;
        :class:`StudyDefinitionError` (or the data or model error) saying why not."""
        request = ExpandStudy(dict(definition), str(folder))
        answer = self.ask(request, [str(folder)], StudyDefinitionError)
        if not isinstance(answer, StudyExpanded):
            raise RunnerProtocolError(f"the file reader answered {answer.type!r} to a study expansion")
        return checked_specs(answer.specs, folder, template)

    def order_value(self, path: Path, order: str, options: Mapping[str, Any]) -> float | None:
        """The ``order`` value of data file ``path`` (None for ``name``); :class:`DataFileError` why not."""
        return self.order_quantity(path, order, options)[0]

    def order_quantity(
        self, path: Path, order: str, options: Mapping[str, Any]
    ) -> tuple[float | None, str | None]:
        """:meth:`order_value` and its unit (None when the header gives none)."""
        if order == "name":
            return None, None
        answer = self.ask(ReadOrderValue(str(path), order, dict(options)), [str(path)], DataFileError)
        if not isinstance(answer, OrderValueRead):
            raise RunnerProtocolError(f"the file reader answered {answer.type!r} to an order value")
        return answer.value, answer.unit

    # -- one read ----------------------------------------------------------------------------------
    def ask(self, request: Request, readable: Sequence[str], error: type[MetagenxError]) -> Answer:
        """Send ``request`` to a fresh reader that may read ``readable``; raise a refusal as the error
        of its kind (else ``error``), a limit as :class:`LimitExceededError`."""
        if self.mode is SandboxMode.UNSAFE_OFF:
            answer = self.run(
                [sys.executable, "-m", "metagenx.untrusted.child"], request, runner_environment()
            )
        else:
            answer = self.run_sandboxed(request, readable)
        if isinstance(answer, Refused) and answer.kind == "MemoryError":
            raise LimitExceededError(
                f"reading the file needed more than {format_bytes(self.limits.memory_bytes)} of memory"
            )
        if isinstance(answer, Refused):
            raise ERRORS.get(answer.kind, error)(without_paths(answer.message, readable))
        return answer

    def run_sandboxed(self, request: Request, readable: Sequence[str]) -> Answer:
        report = cached_report(self.policy)
        report.require()
        uid = uids.allocate(self.policy.uid_base, self.policy.uid_count)
        if uid is None:
            raise SandboxUnavailableError("every sandbox uid is in use; try again in a moment")
        try:
            mounts = Mounts(None, frozenset(os.path.abspath(p) for p in readable))
            command = bwrap_command(
                report.bwrap or self.policy.bwrap, self.policy, self.limits, mounts, uid, entry="reader"
            )
            return self.run(command, request, {"PATH": "/usr/bin:/bin"})
        finally:
            deadline = time.monotonic() + 5.0
            while uid in uids.uids_in_use() and time.monotonic() < deadline:
                time.sleep(0.02)  # the kernel is still tearing the pid namespace down
            uids.release(uid)

    def run(self, command: list[str], request: Request, env: dict[str, str]) -> Answer:
        """Run one reader to its end (killed at the wall-time limit); its answer, decoded."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = SPAWNER.submit(
                subprocess.Popen,
                command,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
            ).result()
            try:
                assert process.stdin is not None
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.write(encode(request))
                    process.stdin.close()
                process.wait(timeout=self.limits.wall_seconds)
            except subprocess.TimeoutExpired:
                kill_tree(process)
                raise LimitExceededError(
                    f"reading the file took longer than {format_seconds(self.limits.wall_seconds)}; "
                    "it is refused (a GenX model or data file reads in seconds)"
                ) from None
            finally:
                kill_tree(process)
            data = read_bounded(out)
            if not data:
                raise self.no_answer(process.returncode, tail(err))
            return decode_answer(data)

    def no_answer(self, returncode: int, last_words: str) -> MetagenxError:
        """Why a reader ended without an answer, as the error to raise."""
        startup = [line for line in last_words.splitlines() if line.startswith(STARTUP_PREFIX)]
        if startup:
            return SandboxUnavailableError(
                f"the sandbox could not be set up: {startup[-1][len(STARTUP_PREFIX) :].strip()}"
            )
        signal_number = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
        if signal_number in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT) or "MemoryError" in last_words:
            return LimitExceededError(
                f"reading the file stopped: it needed more than {format_bytes(self.limits.memory_bytes)} of "
                "memory, or crashed its reader (a damaged or hostile file)"
            )
        if signal_number == signal.SIGXCPU:
            return LimitExceededError(
                f"reading the file used more than {format_seconds(self.limits.cpu_seconds)} of CPU time"
            )
        return RunnerProtocolError(f"the file reader ended without an answer (exit status {returncode})")


def without_paths(message: str, paths: Sequence[str]) -> str:
    """``message`` with the server's folders of ``paths`` left out (file names stay)."""
    for path in sorted(paths, key=len, reverse=True):
        message = message.replace(path + os.sep, "").replace(path, os.path.basename(path))
    return message


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a reader and everything it started (a sandbox's pid namespace dies with its init)."""
    if process.poll() is None:
        for child in accounting.children(process.pid):
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def read_bounded(stream: IO[bytes]) -> bytes:
    stream.seek(0)
    return stream.read(MAX_ANSWER_BYTES + 1)


def tail(stream: IO[bytes], size: int = 4000) -> str:
    stream.seek(0, os.SEEK_END)
    stream.seek(max(0, stream.tell() - size))
    return stream.read().decode("utf-8", "replace")
