"""Per-user limits of running fits: the controller skips owners at their limit when it claims."""

from __future__ import annotations

import time
from pathlib import Path

from tests.server.conftest import LONG, StartApi


def test_a_user_at_the_running_limit_waits_while_others_run(start_api: StartApi, xray: Path) -> None:
    api = start_api(limits={"max_running": 1}, workers=2)
    first = api.submit(xray, LONG | {"seed": 1}).json()
    second = api.submit(xray, LONG | {"seed": 2}).json()
    api.wait_state(first["id"], "running")
    time.sleep(1.0)  # the controller claims every 0.2 s: alice's second job would be running by now
    assert api.get(f"/api/v1/jobs/{second['id']}").json()["state"] == "queued"
    bob = api.submit(xray, LONG, user="bob").json()
    api.wait_state(bob["id"], "running", user="bob")
    api.post(f"/api/v1/jobs/{first['id']}/cancel")
    api.wait_state(second["id"], "running")
    for job_id, user in ((second["id"], "alice"), (bob["id"], "bob")):
        assert api.post(f"/api/v1/jobs/{job_id}/cancel", user).json()["state"] == "cancelled"
