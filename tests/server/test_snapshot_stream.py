"""A running fit's snapshots on the server: sent on its job's event stream (the newest one first to a
late reader), never stored, never on a study's stream, and forgotten when the fit ends."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from metagenx.client import parse_sse
from metagenx.events import CurrentCurve, CurrentValue, Snapshot
from tests.server.conftest import LONG, QUICK, Api

MARK = 4242.0


def test_a_job_stream_carries_its_snapshots_and_a_study_stream_does_not(api: Api, superadam: Path) -> None:
    answer = api.submit(superadam, QUICK | {"max_generations": 6})
    assert answer.status_code == 201, answer.text
    job_id, study_id = int(answer.json()["id"]), int(answer.json()["study_id"])
    study_events: list[tuple[str, dict[str, Any]]] = []
    study = threading.Thread(
        target=lambda: study_events.extend(api.events(f"/api/v1/studies/{study_id}/events"))
    )
    study.start()
    live = api.events(f"/api/v1/jobs/{job_id}/events")
    study.join(timeout=60)
    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "succeeded", job
    snapshots = [data for kind, data in live if kind == "snapshot"]
    assert snapshots, "the fit's first and last snapshots at least"
    names = [p["name"] for p in job["result"]["parameters"]]
    assert all([p["name"] for p in s["parameters"]] == names for s in snapshots)
    last = snapshots[-1]
    assert last["generation"] == job["result"]["generations"] and last["best_fom"] == job["fom"]
    assert {"x", "y", "error", "simulated", "name", "use", "x_axis"} == set(last["datasets"][0])
    assert last["datasets"][0]["x_axis"] == "2theta", "SuperAdam's instrument works in 2θ"
    assert not [kind for kind, _ in study_events if kind == "snapshot"]
    service = api.client.app.state.service  # type: ignore[attr-defined]
    assert service.snapshots.get(job_id) is None, "forgotten when the fit ended"
    replay = api.events(f"/api/v1/jobs/{job_id}/events")
    assert not [kind for kind, _ in replay if kind == "snapshot"], "never stored"


def test_a_late_reader_gets_the_newest_snapshot_first(api: Api, superadam: Path) -> None:
    job_id = int(api.submit(superadam, LONG).json()["id"])
    service = api.client.app.state.service  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while service.snapshots.get(job_id) is None:  # the fit's first; the next comes seconds later
        assert time.monotonic() < deadline, "no snapshot came"
        time.sleep(0.05)
    curve = CurrentCurve("d", True, [0.1], [1.0], [0.1], [None])
    service.snapshots.keep(Snapshot(job_id, 1, MARK, [CurrentValue("p", 1.0)], [curve]))
    path = f"/api/v1/jobs/{job_id}/events"
    with api.client.stream("GET", path, headers=api.headers("alice")) as response:
        first = next(data for kind, data, _ in parse_sse(response.iter_lines()) if kind == "snapshot")
    api.post(f"/api/v1/jobs/{job_id}/cancel", "alice")
    assert first["best_fom"] == MARK and first["datasets"][0]["simulated"] == [None]
    api.wait_state(job_id, "cancelled")
