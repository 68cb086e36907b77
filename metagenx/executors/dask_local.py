"""A Dask cluster on this machine: one ``dask scheduler`` and N ``dask worker`` processes, 1 thread each.

Used by ``metagenx cluster local``, the tests and the benchmark. Each process is the plain
``dask`` command line, as a user would start it by hand, with the thread-pinning
environment of :data:`WORKER_ENVIRONMENT` and ``allowed-failures = 0`` on the scheduler
(Dask never re-runs a fit whose worker died; the controller decides).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from metagenx.engine.runtime import THREAD_VARIABLES
from metagenx.executors.dask_connect import ExecutorUnavailableError, open_client

WORKER_ENVIRONMENT = {**{name: "1" for name in THREAD_VARIABLES}, "MPLBACKEND": "Agg"}
"""Environment of every worker: numerical thread pools pinned to 1 (the fits are the parallelism)."""

SCHEDULER_ENVIRONMENT = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
"""Environment of the scheduler: a task whose worker dies fails at once (``KilledWorker``)."""


def dask_command(*arguments: str) -> list[str]:
    """``dask ARGUMENTS...`` run by this Python (so the same environment as metagenx)."""
    return [sys.executable, "-m", "dask", *arguments]


class LocalDaskCluster:
    """Starts and stops a scheduler at ``host:port`` (0: any free port) and ``workers`` worker processes.

    ``dashboard``: the scheduler's dashboard port (None: no dashboard; it needs ``bokeh``).
    ``nanny``: workers run under a nanny that restarts them when they die (Dask's default).
    Process logs go to ``directory`` (default: a temporary folder), one file per process.
    ``scheduler_options``/``worker_options`` are added to the ``dask scheduler``/``dask worker``
    command lines (e.g. ``--tls-*``); ``security`` is what this process uses to reach the scheduler.
    """

    def __init__(
        self,
        workers: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        dashboard: int | None = None,
        nanny: bool = True,
        directory: Path | None = None,
        startup_timeout: float = 60.0,
        scheduler_options: Sequence[str] = (),
        worker_options: Sequence[str] = (),
        security: Any = None,
    ) -> None:
        self.count = workers
        self.host = host
        self.port = port
        self.dashboard = dashboard
        self.nanny = nanny
        self.owned_directory = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="metagenx-dask-")) if directory is None else directory
        self.startup_timeout = startup_timeout
        self.scheduler_options = list(scheduler_options)
        self.worker_options = list(worker_options)
        self.security = security
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs: list[IO[bytes]] = []
        self.address = ""

    def __enter__(self) -> LocalDaskCluster:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def spawn(self, name: str, command: list[str], extra: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 (closed in close())
        self.logs.append(log)
        environment = {**os.environ, **WORKER_ENVIRONMENT, **extra}
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
        )

    def start(self) -> str:
        """Start the scheduler and the workers; return the scheduler address once all workers joined.

        If they do not come up, everything started is stopped again (logs kept) and the error raised.
        """
        try:
            return self.launch()
        except BaseException:
            self.owned_directory = False  # keep the logs the error points to
            self.close()
            raise

    def launch(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        address_file = self.directory / "scheduler.json"
        address_file.unlink(missing_ok=True)
        dashboard = ["--dashboard-address", f":{self.dashboard}"] if self.dashboard else ["--no-dashboard"]
        arguments = ["scheduler", "--host", self.host, "--port", str(self.port), *dashboard]
        arguments += self.scheduler_options
        self.scheduler = self.spawn(
            "scheduler",
            dask_command(*arguments, "--scheduler-file", str(address_file)),
            SCHEDULER_ENVIRONMENT,
        )
        deadline = time.monotonic() + self.startup_timeout
        while not address_file.exists() or not address_file.read_text().strip().endswith("}"):
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise ExecutorUnavailableError(
                    f"the Dask scheduler did not start; see {self.directory / 'scheduler.log'}"
                )
            time.sleep(0.05)
        self.address = str(json.loads(address_file.read_text())["address"])
        for _ in range(self.count):
            self.add_worker()
        self.wait_for_workers(self.count, max(1.0, deadline - time.monotonic()))
        return self.address

    def add_worker(
        self, extra: dict[str, str] | None = None, nanny: bool | None = None
    ) -> subprocess.Popen[bytes]:
        """Start one more worker process (1 thread); ``extra`` adds environment variables."""
        number = len(self.workers)
        arguments = ["worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"]
        arguments += ["--name", f"metagenx-{number}", "--local-directory", str(self.directory / "workers")]
        if not (self.nanny if nanny is None else nanny):
            arguments.append("--no-nanny")
        arguments += self.worker_options
        worker = self.spawn(f"worker-{number}", dask_command(*arguments), extra or {})
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int, timeout: float = 60.0) -> None:
        """Block until at least ``count`` workers are connected to the scheduler."""
        if count < 1:
            return
        client = open_client(self.address, timeout=min(timeout, 10.0), security=self.security)
        try:
            client.wait_for_workers(count, timeout=timeout)
        except TimeoutError:
            raise ExecutorUnavailableError(
                f"{count} Dask worker(s) did not join within {timeout:g} s; see the logs in {self.directory}"
            ) from None
        finally:
            client.close()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers (gracefully, then by force), then the scheduler; idempotent."""
        for process in self.workers:
            terminate(process)
        deadline = time.monotonic() + timeout
        for process in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            if process is self.scheduler:
                terminate(process)
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self.logs:
            log.close()
        self.logs.clear()
        if self.owned_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def terminate(process: subprocess.Popen[bytes]) -> None:
    """Ask ``process`` to stop (a nanny then stops its worker, a worker's runners exit with it)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
