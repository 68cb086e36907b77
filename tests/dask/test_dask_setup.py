"""Bad set-ups give clear errors: an unreachable scheduler, other versions, a worker without GenX."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from metagenx.cli.executor_options import executor_from_options
from metagenx.controller import Controller
from metagenx.errors import SettingsError
from metagenx.executors import LocalExecutor, create_executor
from metagenx.executors.dask import DaskExecutor
from metagenx.executors.dask_connect import (
    ExecutorUnavailableError,
    VersionMismatchError,
    version_problems,
)
from metagenx.executors.dask_local import WORKER_ENVIRONMENT, LocalDaskCluster
from metagenx.store import JobState, Store
from tests.dask.conftest import free_port, jobs_of, run_study, seeds_study, submit


def test_an_unreachable_scheduler_is_a_clear_error_within_seconds() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ExecutorUnavailableError, match=f"cannot reach the Dask scheduler at {address}"):
        DaskExecutor(address, connect_timeout=2.0).start(lambda event: None)
    assert time.monotonic() - started < 5


def test_a_silent_server_is_a_clear_error_after_the_connect_timeout() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(
            ExecutorUnavailableError, match=f"cannot connect to the Dask scheduler at {address}"
        ):
            DaskExecutor(address, connect_timeout=2.0).start(lambda event: None)
        assert time.monotonic() - started < 6


def test_version_problems_list_every_mismatch() -> None:
    here = {"python": "3.11.9", "dask": "2026.8.0", "distributed": "2026.8.0", "metagenx": "0.1.0"}
    here |= {"genx3server": "3.8.13", "cloudpickle": "3", "tornado": "6", "toolz": "1", "msgpack": "1"}
    scheduler = {**here, "dask": "2024.1.0", "metagenx": None}
    workers = {
        "tcp://a:1": {**here, "metagenx": "0.2.0"},
        "tcp://b:1": {**here, "genx3server": None, "python": "3.12.1"},
    }
    problems = version_problems(here, scheduler, workers)
    assert problems == [
        "dask 2026.8.0 here, 2024.1.0 on the scheduler",
        "metagenx 0.1.0 here, 0.2.0 on worker tcp://a:1",
        "Python 3.11 here, 3.12 on worker tcp://b:1",
        "GenX (genx3server) is not installed on worker tcp://b:1",
    ]
    assert version_problems(here, here, {"tcp://a:1": here}) == []


@pytest.fixture(scope="module")
def bare_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDaskCluster]:
    """A scheduler without workers; each test adds the odd worker it needs."""
    cluster = LocalDaskCluster(0, directory=tmp_path_factory.mktemp("bare"))
    cluster.start()
    yield cluster
    cluster.close()


def stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def test_another_metagenx_version_on_a_worker_is_a_clear_error_listing_it(
    bare_scheduler: LocalDaskCluster, tmp_path: Path
) -> None:
    fake = tmp_path / "site" / "metagenx-9.9.9.dist-info"
    fake.mkdir(parents=True)
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: metagenx\nVersion: 9.9.9\n")
    worker = bare_scheduler.add_worker({"PYTHONPATH": str(fake.parent)})
    try:
        bare_scheduler.wait_for_workers(1)
        with pytest.raises(VersionMismatchError) as caught:
            DaskExecutor(bare_scheduler.address).start(lambda event: None)
    finally:
        stop(worker)
    message = str(caught.value)
    assert f"the Dask cluster at {bare_scheduler.address} does not match" in message
    assert "metagenx 0.1.0 here, 9.9.9 on worker tcp://127.0.0.1:" in message


WITHOUT_GENX = (
    "import sys; sys.modules['genx'] = None; sys.argv = ['dask', *sys.argv[1:]];"
    " from dask.__main__ import main; main()"
)
"""A `dask worker` whose Python cannot import GenX (as if genx3server were not installed there)."""


def test_a_worker_without_genx_fails_the_job_with_that_reason(
    bare_scheduler: LocalDaskCluster, store: Store, superadam: Path, tmp_path: Path
) -> None:
    study = submit(store, seeds_study(superadam, range(1, 2)), tmp_path)
    executor = DaskExecutor(bare_scheduler.address)
    controller = Controller(store, executor)
    arguments = ["worker", bare_scheduler.address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
    command = [sys.executable, "-c", WITHOUT_GENX, *arguments]

    def join_later() -> None:
        time.sleep(0.5)  # the executor starts on an empty cluster; the worker joins while the job waits
        workers.append(subprocess.Popen(command, env={**os.environ, **WORKER_ENVIRONMENT}))

    workers: list[subprocess.Popen[bytes]] = []
    threading.Thread(target=join_later, daemon=True).start()
    try:
        summary = run_study(controller, study)
    finally:
        for worker in workers:
            stop(worker)
    assert summary.counts["failed"] == 1
    job = jobs_of(store, study)[0]
    assert job.state is JobState.FAILED and job.runs == 1
    assert "GenX (genx3server) is not installed on Dask worker tcp://127.0.0.1:" in (job.last_error or "")


def test_executor_options_build_the_executor_or_say_what_is_missing() -> None:
    assert isinstance(executor_from_options("local", None, 2), LocalExecutor)
    dask = executor_from_options("dask", "tcp://127.0.0.1:8786", 4, fallback_local=True)
    assert isinstance(dask, DaskExecutor) and dask.min_capacity == 4 and dask.fallback_local
    with pytest.raises(SettingsError, match="--executor dask needs --scheduler"):
        executor_from_options("dask", None, None)
    with pytest.raises(SettingsError, match="--scheduler is for --executor dask"):
        executor_from_options("local", "tcp://127.0.0.1:8786", None)
    with pytest.raises(SettingsError, match="unknown; use one of: local, dask"):
        executor_from_options("slurm", None, None)
    with pytest.raises(SettingsError, match="needs a scheduler address"):
        create_executor("dask")


def certificates(folder: Path) -> dict[str, str]:
    """A throw-away CA and one certificate signed by it for 127.0.0.1 (openssl), as Dask's TLS files."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key, cert, key = (str(folder / name) for name in ("ca.pem", "ca.key", "node.pem", "node.key"))
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for command in [
        f"req -x509 -newkey rsa:2048 -nodes -keyout {ca_key} -out {ca} -days 2 -subj /CN=metagenx-test-ca",
        f"req -newkey rsa:2048 -nodes -keyout {key} -out {folder / 'node.csr'} -subj /CN=127.0.0.1",
        f"x509 -req -in {folder / 'node.csr'} -CA {ca} -CAkey {ca_key} -CAcreateserial -out {cert}"
        f" -days 2 -extfile {folder / 'san.cnf'}",
    ]:
        subprocess.run(["openssl", *command.split()], check=True, capture_output=True)
    return {"ca": ca, "cert": cert, "key": key}


def test_a_tls_cluster_runs_fits_for_a_controller_with_a_certificate_and_refuses_one_without(
    store: Store, superadam: Path, tmp_path: Path
) -> None:
    from distributed.security import Security

    files = certificates(tmp_path / "tls")
    options = ["--tls-ca-file", files["ca"], "--tls-cert", files["cert"], "--tls-key", files["key"]]
    security = Security(
        tls_ca_file=files["ca"],
        tls_client_cert=files["cert"],
        tls_client_key=files["key"],
        require_encryption=True,
    )
    cluster = LocalDaskCluster(
        1,
        scheduler_options=["--protocol", "tls", *options],
        worker_options=options,
        security=security,
        directory=tmp_path / "cluster",
    )
    with cluster:
        assert cluster.address.startswith("tls://127.0.0.1:")
        with pytest.raises(
            ExecutorUnavailableError, match=f"cannot connect to the Dask scheduler at {cluster.address}"
        ):
            DaskExecutor(cluster.address, connect_timeout=2.0).start(lambda event: None)
        study = submit(store, seeds_study(superadam, range(1, 2)), tmp_path)
        summary = run_study(Controller(store, DaskExecutor(cluster.address, security=security)), study)
    assert summary.counts["succeeded"] == 1
