"""The in-memory JSON of finished jobs and list pages: served until anything changes, never stale."""

from __future__ import annotations

from pathlib import Path

from metagenx.server.finished_jobs import FinishedJobs
from tests.server.conftest import QUICK, Api


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
