"""Bad input and refusals: 401, 404, 409, 413, 422 and 429, each with a reason in ``detail``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.conftest import LONG, Api, StartApi


def test_every_route_but_health_needs_a_valid_token(api: Api) -> None:
    client = api.client
    assert client.get("/healthz").status_code == 200
    for path in ("/api/v1/jobs", "/api/v1/jobs/1", "/api/v1/projects", "/api/v1/studies", "/metrics"):
        missing = client.get(path)
        assert missing.status_code == 401 and "token" in missing.json()["detail"], path
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = client.get(path, headers={"Authorization": "Bearer mgx_000000000000_nope"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
    garbage = client.get(
        "/api/v1/jobs", headers={"Authorization": "Bearer " + api.tokens["alice"][:-1] + "x"}
    )
    assert garbage.status_code == 401
    assert client.get("/api/v1/jobs", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/docs").status_code == 200 and "metagenx" in client.get("/").text
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}/events", "/api/v1/studies", "/healthz"} <= set(paths)


def test_uploads_that_are_not_genx_models_are_refused(api: Api, tmp_path: Path, xray: Path) -> None:
    text = tmp_path / "notes.hgx"
    text.write_text("just some notes\n")
    refused = api.submit(text)
    assert refused.status_code == 422 and "not an HDF5 file" in refused.json()["detail"]
    zipped = tmp_path / "film.gx"
    zipped.write_bytes(xray.read_bytes())
    hint = api.submit(zipped)
    assert hint.status_code == 422 and "rename it to .hgx" in hint.json()["detail"]
    other = tmp_path / "film.txt"
    other.write_bytes(xray.read_bytes())
    assert "extension .txt" in api.submit(other).json()["detail"]
    empty = tmp_path / "empty.hgx"
    empty.write_bytes(b"")
    assert "empty" in api.submit(empty).json()["detail"]
    assert api.get("/api/v1/jobs").json()["total"] == 0
    assert not [p for p in (api.settings.data_dir / "uploads").iterdir() if not p.name.startswith(".")]


def test_malformed_settings_name_the_field(api: Api, xray: Path) -> None:
    files = {"model": (xray.name, xray.read_bytes())}
    for settings, words in (
        ("{not json", "settings is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"max_generation": 3}), "max_generation"),
        (json.dumps({"population": 1}), "population"),
        (json.dumps({"max_generations": "many"}), "max_generations"),
        (json.dumps({"strategy": "best_2_bin"}), "strategy"),
    ):
        response = api.post("/api/v1/jobs", files=files, data={"settings": settings})
        assert response.status_code == 422 and words in response.json()["detail"], (settings, response.text)
    bad_project = api.submit(xray, project="../etc")
    assert bad_project.status_code == 422 and "project name" in bad_project.json()["detail"]
    validation = api.get("/api/v1/jobs", params={"state": "sleeping", "limit": 0})
    assert validation.status_code == 422
    assert "state" in validation.json()["detail"] and "limit" in validation.json()["detail"]
    no_file = api.post("/api/v1/jobs", data={"settings": "{}"})
    assert no_file.status_code == 422 and "model" in no_file.json()["detail"]


def test_oversized_uploads_get_413(start_api: StartApi, xray: Path) -> None:
    api = start_api(max_upload_mb=0.01)
    response = api.submit(xray)
    assert response.status_code == 413 and "0.01 MiB" in response.json()["detail"]

    def chunks() -> object:
        for _ in range(20):
            yield b"x" * 1024

    streamed = api.client.post(
        "/api/v1/jobs",
        headers=api.headers("alice") | {"Content-Type": "multipart/form-data; boundary=b"},
        content=chunks(),  # type: ignore[arg-type]
    )
    assert streamed.status_code == 413 and "limit" in streamed.json()["detail"]


def test_the_queued_limit_answers_429_with_the_reason(start_api: StartApi, xray: Path) -> None:
    api = start_api(limits={"max_queued": 2}, workers=1)
    ids = [api.submit(xray, LONG | {"seed": 1}).json()["id"]]
    api.wait_state(ids[0], "running")
    ids += [api.submit(xray, LONG | {"seed": seed}).json()["id"] for seed in (2, 3)]
    # One runs, two wait: the queue of alice is full now.
    refused = api.submit(xray, LONG | {"seed": 4})
    assert refused.status_code == 429, refused.text
    assert "limit is 2" in refused.json()["detail"] and "queued" in refused.json()["detail"]
    assert api.submit(xray, LONG | {"seed": 1}).status_code == 200, "a known job is found, not refused"
    assert api.submit(xray, LONG | {"seed": 4}, user="bob").status_code == 201, "bob has his own queue"
    for job_id in ids:
        api.post(f"/api/v1/jobs/{job_id}/cancel")


def test_unknown_things_are_404_and_conflicts_409(api: Api) -> None:
    assert api.get("/api/v1/jobs/999").json()["detail"] == "there is no job 999"
    for path in ("/api/v1/jobs/999/events", "/api/v1/studies/999", "/api/v1/projects/999"):
        assert api.get(path).status_code == 404, path
    assert api.post("/api/v1/jobs/999/cancel").status_code == 404
    assert api.delete("/api/v1/jobs/999").status_code == 404
    assert api.get("/api/v1/jobs", params={"study": 999}).status_code == 404
