"""Solve jobs and tunes over the API: real GenX starts in the server's sandbox, a real Optuna study."""

from __future__ import annotations

import json
from pathlib import Path

from metagenx.solve import read_settings_file
from tests.server.conftest import Api

SOLVE = {
    "seed": 3,
    "max_generations": 8,
    "solve": {"budget": 60, "max_starts": 3, "target_reliability": 0.5, "share": 0.5},
}
"""A solve of a few short starts: it ends when two starts agree or after three."""


def test_a_solve_job_races_starts_and_keeps_its_account(api: Api, xray: Path, tmp_path: Path) -> None:
    created = api.submit(xray, SOLVE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["settings"]["solve"]["budget"] == 60
    assert body["settings"]["population"] == 20, "a solve's starts take solve's own defaults"
    events = api.events(f"/api/v1/jobs/{body['id']}/events")
    progress = [data for kind, data in events if kind == "progress"]
    assert progress and all("solve" in p for p in progress), progress
    assert progress[-1]["elapsed"] > 0
    job = api.get(f"/api/v1/jobs/{body['id']}").json()
    assert job["state"] == "succeeded", job["error"]
    account = job["result"]["extra"]["solve"]
    assert job["stop_reason"] == f"solve: {account['stop_reason']}"
    assert 1 <= len(account["starts"]) <= 3
    # three starts rarely make two finished searches of one minimum: the confidence may still be 0
    assert account["agreeing"] >= 1 and 0 <= account["confidence"] <= 1
    assert account["searches"] <= len(account["starts"]) and account["minima"] <= account["searches"]
    best_start = min(s["fom"] for s in account["starts"] if s["fom"] is not None)
    assert job["fom"] <= best_start * (1 + 1e-9), "the finishing polish never makes the best start worse"
    assert job["progress"]["elapsed"] == account["wall_time"]
    kinds = {a["kind"] for a in job["artifacts"]}
    assert {"model", "result_json", "solve_json"} <= kinds
    solve_json = api.get(f"/api/v1/jobs/{body['id']}/artifacts/solve_json").json()
    assert solve_json["fom"] == job["fom"]
    again = api.submit(xray, SOLVE)
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_bad_solve_settings_are_refused_naming_the_key(api: Api, xray: Path) -> None:
    for settings, named in (
        ({"solve": {"budgett": 5}}, "budgett"),
        ({"solve": 5}, "solve"),
        ({"solve": {"budget": -1}}, "budget"),
        ({"solve": {"fit": {}}}, "fit settings"),
    ):
        answer = api.submit(xray, settings)
        assert answer.status_code == 422, answer.text
        assert named in answer.json()["detail"]


def test_a_tune_runs_trials_and_offers_its_best_settings(api: Api, xray: Path, tmp_path: Path) -> None:
    settings = {"trials": 1, "seeds": 1, "run_budget": 5, "fixed": {"max_generations": 6}}
    files = [("models", (xray.name, xray.read_bytes()))]
    created = api.post("/api/v1/tunes", files=files, data={"settings": json.dumps(settings)})
    assert created.status_code == 201, created.text
    job = api.wait(created.json()["id"])
    assert job["state"] == "succeeded", job["error"]
    tune = job["result"]["tune"]
    assert tune["study_name"].startswith("alice:")
    assert [row["state"] for row in tune["table"]] == ["COMPLETE"]
    assert tune["best_fit"]["max_generations"] == 6
    study = api.get(f"/api/v1/studies/{job['study_id']}").json()
    assert study["kind"] == "tune"
    best = tmp_path / "best.toml"
    best.write_bytes(api.get(f"/api/v1/jobs/{job['id']}/artifacts/settings").content)
    assert read_settings_file(best).fit["km"] == tune["best_fit"]["km"]
    assert {"trials_csv", "settings"} <= {a["kind"] for a in job["artifacts"]}
    again = api.post("/api/v1/tunes", files=files, data={"settings": json.dumps(settings)})
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    bob = api.get(f"/api/v1/jobs/{job['id']}", "bob")
    assert bob.status_code == 404
    rerun = api.post(f"/api/v1/jobs/{job['id']}/reprocess", json={"settings": {"trials": 2}})
    assert rerun.status_code == 422 and "study_name" in rerun.json()["detail"]


def test_bad_tune_settings_are_refused(api: Api, xray: Path, tmp_path: Path) -> None:
    files = [("models", (xray.name, xray.read_bytes()))]
    answer = api.post("/api/v1/tunes", files=files, data={"settings": json.dumps({"trails": 3})})
    assert answer.status_code == 422 and "trails" in answer.json()["detail"]
    text = tmp_path / "model.hgx"
    text.write_text("not a model")
    answer = api.post("/api/v1/tunes", files=[("models", (text.name, text.read_bytes()))])
    assert answer.status_code == 422, answer.text
