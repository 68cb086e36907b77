"""``metagenx serve --executor dask``: the server's fits run on a Dask cluster, sandboxed on its workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from metagenx.engine.model import GenxModel
from metagenx.errors import MetagenxError
from metagenx.executors.dask import DaskExecutor
from metagenx.sandbox import SandboxPolicy
from tests.sandbox.conftest import with_script_prefix
from tests.server.conftest import StartApi

UID_PROBE = (
    "import os\nif os.getuid() == 0:\n    raise RuntimeError('this model ran as root, outside a sandbox')"
)
"""A model script line that fails the fit unless it runs under a sandbox's own uid."""


def test_a_server_on_dask_runs_fits_and_solves_sandboxed_on_the_workers(
    start_api: StartApi, scheduler: str, xray: Path, tmp_path: Path, policy: SandboxPolicy
) -> None:
    api = start_api(executor="dask", scheduler=scheduler, workers=2)
    assert isinstance(api.client.app.state.service.executor, DaskExecutor)  # type: ignore[attr-defined]
    assert api.client.get("/healthz").json()["sandbox"] == "on"
    probe = with_script_prefix(xray, UID_PROBE, tmp_path / "uid-probe.hgx")
    fit = api.wait(api.submit(probe).json()["id"])
    assert fit["state"] == "succeeded", fit["error"]
    solve = {"seed": 2, "max_generations": 10, "solve": {"budget": 60, "max_starts": 2}}
    solved = api.wait(api.submit(probe, solve).json()["id"])
    assert solved["state"] == "succeeded", solved["error"]
    assert 1 <= len(solved["result"]["extra"]["solve"]["starts"]) <= 2


def test_the_uid_probe_fails_outside_a_sandbox(tmp_path: Path, xray: Path, policy: SandboxPolicy) -> None:
    probe = with_script_prefix(xray, UID_PROBE, tmp_path / "uid-probe.hgx")
    with pytest.raises(MetagenxError, match="outside a sandbox"):
        GenxModel.load(probe).simulate()
