"""``metagenx serve --executor dask`` on workers that are Slurm jobs: its fits run sandboxed there."""

from __future__ import annotations

from pathlib import Path

import pytest

from metagenx.executors.dask_connect import open_client
from metagenx.executors.dask_task import batch_job
from metagenx.sandbox import SandboxPolicy
from tests.dask.test_dask_server import UID_PROBE
from tests.sandbox.conftest import with_script_prefix
from tests.server.conftest import StartApi
from tests.slurm.conftest import Command
from tests.slurm.one_node import OneNodeSlurm


@pytest.mark.timeout(180)
def test_a_server_on_slurm_workers_runs_its_fits_sandboxed_in_the_batch_job(
    slurm: OneNodeSlurm, start_api: StartApi, xray: Path, tmp_path: Path, policy: SandboxPolicy
) -> None:
    start = ["cluster", "slurm", "--jobs", "1", "--cores", "1", "--memory", "1GB", "--walltime", "00:10:00"]
    cluster = Command([*start, "--host", "127.0.0.1", "--scheduler-port", "0"], tmp_path, slurm.env)
    try:
        address = cluster.wait_for(r"scheduler: (tcp://\S+)", timeout=60).group(1)
        client = open_client(address, timeout=10)
        try:
            client.wait_for_workers(1, timeout=90)
            (where,) = client.run(batch_job).values()
        finally:
            client.close()
        assert str(where).startswith("Slurm job "), "the cluster's only worker runs in a Slurm job"
        api = start_api(executor="dask", scheduler=address, workers=1)
        assert api.client.get("/healthz").json()["sandbox"] == "on"
        probe = with_script_prefix(xray, UID_PROBE, tmp_path / "uid-probe.hgx")
        fit = api.wait(api.submit(probe).json()["id"])
        assert fit["state"] == "succeeded", fit["error"]
    finally:
        assert cluster.stop() == 0, cluster.text()
