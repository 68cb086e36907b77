"""A real Slurm for the batch-system tests: one node (this machine), started once per session.

Without Slurm's programs (or without root) the tests skip, saying what is missing; with ``CI`` set they
fail instead, so that a CI machine without ``slurm-wlm`` cannot pass by skipping them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.dask.conftest import store  # noqa: F401  (a fresh SQLite job store per test)
from tests.sandbox.conftest import policy  # noqa: F401  (fixture of the sandboxed-worker test)
from tests.server.conftest import start_api  # noqa: F401  (fixture of the server-on-Slurm test)
from tests.slurm.one_node import OneNodeSlurm, missing


def require(what: list[str], install: str) -> None:
    """Skip (or, under CI, fail) when ``what`` lists anything this machine lacks."""
    if not what:
        return
    reason = f"missing {', '.join(what)} ({install})"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set, so this must not be skipped: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OneNodeSlurm]:
    """munged, slurmctld and slurmd running (the node idle); ``SLURM_CONF`` set in this process for
    dask-jobqueue's ``sbatch``/``scancel``. Every job is cancelled and the daemons stopped at the end."""
    require(missing(), "as root: sh scripts/install-system-deps.sh test, which installs slurm-wlm and munge")
    cluster = OneNodeSlurm(tmp_path_factory.mktemp("slurm"))
    with pytest.MonkeyPatch.context() as patch:
        cluster.start()
        patch.setenv("SLURM_CONF", str(cluster.conf))
        try:
            yield cluster
        finally:
            cluster.stop()


class Command:
    """A ``metagenx`` command running in the background, its output (stdout and stderr) read line by line."""

    def __init__(self, arguments: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.log = cwd / f"{arguments[0]}-{len(list(cwd.glob('*.log')))}.log"
        self.output: IO[str] = open(self.log, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "metagenx", *arguments],
            cwd=cwd,
            env={**env, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"},
            stdout=self.output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of ``pattern`` in the output, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text())
            if match:
                return match
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in the output of {self.process.args!r}:\n{self.text()}")
            time.sleep(0.2)

    def wait(self, timeout: float) -> int:
        """Its exit code, once it ended by itself (within ``timeout`` s)."""
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.output.close()

    def stop(self, timeout: float = 60.0) -> int:
        """Ctrl-C, as a user stops it; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(2)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.output.close()
        return code
