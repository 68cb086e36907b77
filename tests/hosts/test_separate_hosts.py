"""Separate hosts: a Dask worker on a second "host" (its own network namespace, reached over a veth link at
addresses the test assigns) runs a study's fits with one on this host; the link is cut for longer than
Dask's timeouts in the middle of a fit and restored. The study completes with exactly one result per job."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from metagenx.controller import Controller
from metagenx.executors.dask import DaskExecutor
from metagenx.executors.dask_connect import open_client
from metagenx.executors.dask_local import WORKER_ENVIRONMENT, LocalDaskCluster, dask_command
from metagenx.store import JobState, Store
from tests.dask.conftest import LONG, Recorder, jobs_of, run_study, seeds_study, submit
from tests.hosts.netns import Host

FITS = 6
RESTART = 1.0
"""Seconds before a remote worker that exited is started again (the systemd unit waits 5)."""

PARTITION = 15.0
"""Seconds the link stays cut: longer than each of Dask's timeouts here (tests/hosts/conftest.py)."""


class RemoteWorker(threading.Thread):
    """A ``dask worker`` on the other host, kept running as deploy/systemd/metagenx-worker.service keeps it
    (``Restart=always``): a Dask worker exits when it loses its scheduler, and is started again."""

    def __init__(self, host: Host, scheduler: str, folder: Path) -> None:
        super().__init__(name="remote-worker-supervisor", daemon=True)
        arguments = ["worker", scheduler, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"]
        arguments += [
            "--name",
            "remote",
            "--death-timeout",
            "120",
            "--local-directory",
            str(folder / "remote"),
        ]
        self.command = host.command(dask_command(*arguments))
        self.log = folder / "remote-worker.log"
        self.starts = 0
        self.done = threading.Event()
        self.process = self.launch()

    def launch(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        with open(self.log, "ab") as log:
            return subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **WORKER_ENVIRONMENT},
                start_new_session=True,
            )

    def run(self) -> None:
        while not self.done.wait(RESTART):
            if self.process.poll() is not None:
                self.process = self.launch()

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5.0)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


@pytest.mark.timeout(240)
def test_a_study_across_hosts_survives_a_network_partition_longer_than_the_timeouts(
    host: Host, store: Store, superadam: Path, tmp_path: Path
) -> None:
    with LocalDaskCluster(1, host=host.gateway, directory=tmp_path / "dask") as cluster:
        remote = RemoteWorker(host, cluster.address, tmp_path)
        remote.start()
        try:
            cluster.wait_for_workers(2, timeout=90)
            study = submit(store, seeds_study(superadam, range(1, FITS + 1), **LONG), tmp_path)
            recorder = Recorder()
            cut: dict[str, float] = {}

            def pull_the_cable() -> None:
                cut["at"] = time.monotonic()
                host.partition()
                time.sleep(PARTITION)
                host.heal()
                cut["healed"] = time.monotonic()

            def partition_under_a_remote_fit(event: Any) -> None:
                if event.type == "progress" and not cut:
                    started = recorder.of("started", event.job_id)
                    if started and started[-1].worker.startswith(f"tcp://{host.address}:"):
                        cut["job"] = event.job_id
                        threading.Thread(target=pull_the_cable, daemon=True).start()

            controller = Controller(store, DaskExecutor(cluster.address))
            controller.listeners += [recorder, partition_under_a_remote_fit]
            summary = run_study(controller, study)
            assert waited_for(lambda: "healed" in cut, PARTITION + 5), "the link was cut during the study"
            cluster.wait_for_workers(2, timeout=60)  # the remote worker, started again, joined again
            client = open_client(cluster.address, timeout=10)
            try:
                back = [w for w in client.nthreads() if w.startswith(f"tcp://{host.address}:")]
            finally:
                client.close()
        finally:
            remote.stop()

    jobs = jobs_of(store, study)
    assert summary.counts["succeeded"] == FITS == len(jobs), [(j.label, j.last_error) for j in jobs]
    assert recorder.results_per_job() == {job.id: 1 for job in jobs}, "exactly one result per job"
    assert all(job.state is JobState.SUCCEEDED for job in jobs)
    assert len(recorder.of("started", cut["job"])) >= 2, "the fit cut off on the remote host ran again"
    lost = [e.reason for e in recorder.of("crashed", cut["job"])]
    assert any(host.address in reason for reason in lost), lost
    assert back and remote.starts >= 2, "the remote worker exited with the link and joined again after it"
    on_remote = {e.job_id for e in recorder.of("started") if e.worker.startswith(f"tcp://{host.address}:")}
    for job_id in on_remote - {cut["job"]}:  # what the remote host fitted is in the shared folder
        if recorder.of("started", job_id)[-1].worker.startswith(f"tcp://{host.address}:"):
            assert list((tmp_path / "jobs").glob(f"{job_id:03d}-*/SuperAdam_SiO.hgx")), job_id


def waited_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return bool(condition())
