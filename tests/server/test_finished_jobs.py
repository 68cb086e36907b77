"""The in-memory JSON of jobs and list pages: served until anything changes, never stale."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from metagenx.server.finished_jobs import FinishedJobs
from tests.server.conftest import LONG, QUICK, Api


def test_a_body_read_before_a_change_is_not_kept() -> None:
    cache = FinishedJobs(capacity=2)
    ticket = cache.ticket(1)
    cache.forget(1)  # the job changed while it was being read
    cache.put(1, ticket, "alice", b"old")
    assert cache.get(1) is None
    cache.put(1, cache.ticket(1), "alice", b"new")
    kept = cache.get(1)
    assert kept is not None and kept.body == b"new"
    for job_id in (2, 3):
        cache.put(job_id, cache.ticket(job_id), "alice", b"x")
    assert cache.get(1) is None, "the least recently read job is dropped first"


def test_list_pages_last_until_any_job_changes() -> None:
    cache = FinishedJobs()
    kept, version = cache.page("q")
    assert kept is None
    cache.put_page("q", version, b"page")
    assert cache.page("q")[0] == b"page"
    cache.forget(99)
    assert cache.page("q")[0] is None
    cache.put_page("q", version, b"stale")
    assert cache.page("q")[0] is None, "a page read before a change is not kept"


def test_reads_follow_deletes_new_jobs_and_owners(api: Api, xray: Path) -> None:
    first = api.wait(api.submit(xray, QUICK).json()["id"])
    assert api.get(f"/api/v1/jobs/{first['id']}").json() == first  # now served from memory
    assert api.get(f"/api/v1/jobs/{first['id']}", "bob").status_code == 404
    assert api.get(f"/api/v1/jobs/{first['id']}", "root").json()["id"] == first["id"]
    listed = api.get("/api/v1/jobs").json()
    assert api.get("/api/v1/jobs").json() == listed and listed["total"] == 1
    second = api.submit(xray, QUICK | {"seed": 2}).json()
    assert api.get("/api/v1/jobs").json()["total"] == 2, "a new job shows at once"
    api.wait(second["id"])
    assert api.delete(f"/api/v1/jobs/{first['id']}").status_code == 204
    assert api.get(f"/api/v1/jobs/{first['id']}").status_code == 404
    assert [j["id"] for j in api.get("/api/v1/jobs").json()["items"]] == [second["id"]]


def test_progress_drops_one_job_and_keeps_the_pages() -> None:
    cache = FinishedJobs()
    cache.put(5, cache.ticket(5), "alice", b"generation 3")
    _, version = cache.page("q")
    cache.put_page("q", version, b"page of finished jobs")
    ticket = cache.ticket(5)
    cache.changed(5)  # a progress report of running job 5
    assert cache.get(5) is None and cache.page("q")[0] == b"page of finished jobs"
    cache.put(5, ticket, "alice", b"read before the report")
    assert cache.get(5) is None, "a body read before the report is not kept"


def running_reads_follow_progress(api: Api, xray: Path) -> tuple[int, set[int]]:
    """Read a running fit's status for up to 6 s (its runner reports twice a second): the
    generations seen (then cancel it)."""
    job_id = api.submit(xray, LONG).json()["id"]
    api.wait_state(job_id, "running")
    seen: set[int] = set()
    deadline = time.monotonic() + 6
    while len(seen) < 3 and time.monotonic() < deadline:
        progress = api.get(f"/api/v1/jobs/{job_id}").json()["progress"]
        if progress is not None:
            seen.add(progress["generation"])
        time.sleep(0.05)
    api.post(f"/api/v1/jobs/{job_id}/cancel")
    api.wait_state(job_id, "cancelled")
    return job_id, seen


def test_a_running_job_is_read_from_memory_and_follows_its_progress(api: Api, xray: Path) -> None:
    job_id, seen = running_reads_follow_progress(api, xray)
    assert len(seen) >= 3, f"the status moved on with the fit: generations {sorted(seen)}"
    assert api.get(f"/api/v1/jobs/{job_id}").json()["state"] == "cancelled"


def test_without_the_progress_hook_running_reads_go_stale(
    api: Api, xray: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The protection off: if progress did not drop the kept body, reads would freeze."""
    monkeypatch.setattr(FinishedJobs, "changed", lambda self, job_id: None)
    _, seen = running_reads_follow_progress(api, xray)
    assert len(seen) <= 1, f"with the hook off the first body read is served on: {sorted(seen)}"
