"""Two users see and change only their own jobs, studies and projects; an admin sees all."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import Api


def test_users_are_isolated_and_admins_see_everything(api: Api, xray: Path) -> None:
    alice = api.submit(xray, user="alice").json()
    bob = api.submit(xray, user="bob").json()
    assert alice["id"] != bob["id"], "the same file and settings of two users are two jobs"
    assert alice["owner"] == "alice" and bob["owner"] == "bob"
    for job in (alice, bob):
        api.wait(job["id"], job["owner"])

    assert [j["id"] for j in api.get("/api/v1/jobs", "alice").json()["items"]] == [alice["id"]]
    assert [j["id"] for j in api.get("/api/v1/jobs", "bob").json()["items"]] == [bob["id"]]
    assert api.get("/api/v1/jobs", "alice", params={"owner": "bob"}).json()["total"] == 0
    assert {j["id"] for j in api.get("/api/v1/jobs", "root").json()["items"]} == {alice["id"], bob["id"]}
    assert [j["id"] for j in api.get("/api/v1/jobs", "root", params={"owner": "bob"}).json()["items"]] == [
        bob["id"]
    ]

    job = f"/api/v1/jobs/{alice['id']}"
    for path in (job, f"{job}/events", f"{job}/artifacts", f"{job}/artifacts/model"):
        assert api.get(path, "bob").status_code == 404, path
        assert api.get(path, "root").status_code == 200, path
    assert api.post(f"{job}/cancel", "bob").status_code == 404
    assert api.post(f"{job}/reprocess", "bob", json={}).status_code == 404
    assert api.delete(job, "bob").status_code == 404
    assert api.get(job, "alice").json()["state"] == "succeeded"

    study = f"/api/v1/studies/{alice['study_id']}"
    for path in (study, f"{study}/table", f"{study}/summary", f"{study}/events"):
        assert api.get(path, "bob").status_code == 404, path
    assert api.post(f"{study}/cancel", "bob").status_code == 404
    assert api.get(study, "root").status_code == 200
    assert [s["owner"] for s in api.get("/api/v1/studies", "bob").json()["items"]] == ["bob"]
    assert len(api.get("/api/v1/studies", "root").json()["items"]) == 2

    projects = {p["owner"]: p for p in api.get("/api/v1/projects", "root").json()["items"]}
    assert set(projects) == {"alice", "bob"}
    assert api.get(f"/api/v1/projects/{projects['alice']['id']}", "bob").status_code == 404
    assert [p["owner"] for p in api.get("/api/v1/projects", "bob").json()["items"]] == ["bob"]


def test_a_revoked_token_stops_working(api: Api) -> None:
    from metagenx.server.identity import TokenCache
    from metagenx.store import open_store, revoke_tokens

    assert api.get("/api/v1/jobs", "bob").status_code == 200
    with open_store(None, api.settings.data_dir) as store, store.session() as session:
        assert revoke_tokens(session, "bob") == 1
    service = api.client.app.state.service  # type: ignore[attr-defined]
    service.tokens = TokenCache()  # what the cache would forget within seconds
    assert api.get("/api/v1/jobs", "bob").status_code == 401
    assert api.get("/api/v1/jobs", "alice").status_code == 200
