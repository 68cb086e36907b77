"""The jobs API on a real app, a real SQLite file and real fits of GenX's examples."""

from __future__ import annotations

from pathlib import Path

import h5py

from metagenx.engine.model import GenxModel
from metagenx.outputs.collect import FIT_OUTPUTS, POSTERIOR_OUTPUTS
from tests.server.conftest import LONG, QUICK, Api


def test_submit_follow_and_download_a_fit(api: Api, xray: Path, tmp_path: Path) -> None:
    first = api.submit(xray)
    assert first.status_code == 201, first.text
    job = first.json()
    assert job["created"] is True and job["state"] in ("queued", "running") and job["model"] == xray.name
    assert first.headers["location"] == f"/api/v1/jobs/{job['id']}"

    again = api.submit(xray)
    assert again.status_code == 200 and again.json()["id"] == job["id"] and again.json()["created"] is False

    events = api.events(f"/api/v1/jobs/{job['id']}/events")
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "end" and events[-1][1]["state"] == "succeeded"
    assert [d["state"] for k, d in events if k == "state"][-1] == "succeeded"

    done = api.get(f"/api/v1/jobs/{job['id']}").json()
    assert done["state"] == "succeeded" and done["fom"] == events[-1][1]["fom"]
    assert done["progress"]["generation"] == 3 and done["settings"]["seed"] == 1
    assert done["result"]["generations"] == 3
    kinds = {a["kind"] for a in done["artifacts"]}
    assert kinds == {"model", *FIT_OUTPUTS} - {"solve_json", *POSTERIOR_OUTPUTS}, "every file a fit writes"

    download = api.get(f"/api/v1/jobs/{job['id']}/artifacts/model")
    assert download.status_code == 200 and xray.name in download.headers["content-disposition"]
    fitted = tmp_path / xray.name
    fitted.write_bytes(download.content)
    assert GenxModel.load(fitted).simulate() == done["fom"]
    assert api.get(f"/api/v1/jobs/{job['id']}/artifacts/fit_png").content.startswith(b"\x89PNG")
    missing = api.get(f"/api/v1/jobs/{job['id']}/artifacts/nothing")
    assert missing.status_code == 404 and "fit_png" in missing.json()["detail"]

    # A late subscriber gets the stored history and the end at once.
    late = api.events(f"/api/v1/jobs/{job['id']}/events")
    assert late[-1] == ("end", events[-1][1] | {"error": None})
    assert any(k == "state" and d.get("previous") == "queued" for k, d in late)


def test_list_filter_paginate_and_project_counts(api: Api, xray: Path, superadam: Path) -> None:
    ids = [api.submit(xray, QUICK | {"seed": s}).json()["id"] for s in (1, 2)]
    ids.append(api.submit(superadam, project="other").json()["id"])
    for job_id in ids:
        api.wait(job_id)
    listed = api.get("/api/v1/jobs", params={"limit": 2}).json()
    assert listed["total"] == 3 and [j["id"] for j in listed["items"]] == ids[:2]
    assert [j["id"] for j in api.get("/api/v1/jobs", params={"offset": 2}).json()["items"]] == ids[2:]
    other = api.get("/api/v1/jobs", params={"project": "other"}).json()
    assert [j["id"] for j in other["items"]] == ids[2:] and other["items"][0]["project"] == "other"
    assert api.get("/api/v1/jobs", params={"state": ["failed", "queued"]}).json()["total"] == 0
    assert api.get("/api/v1/jobs", params={"state": "succeeded"}).json()["total"] == 3
    study = api.get(f"/api/v1/jobs/{ids[0]}").json()["study_id"]
    assert api.get("/api/v1/jobs", params={"study": study}).json()["total"] == 1

    projects = {p["name"]: p for p in api.get("/api/v1/projects").json()["items"]}
    assert projects["default"]["counts"]["succeeded"] == 2 and projects["default"]["studies"] == 2
    assert projects["other"]["counts"]["succeeded"] == 1
    one = api.get(f"/api/v1/projects/{projects['other']['id']}").json()
    assert one["counts"] == projects["other"]["counts"]
    created = api.post("/api/v1/projects", json={"name": "beamtime-2026"})
    assert created.status_code == 201 and created.json()["counts"]["queued"] == 0
    assert api.post("/api/v1/projects", json={"name": "beamtime-2026"}).status_code == 200

    assert api.get("/metrics").status_code == 403, "the figures cover every user's jobs: admins only"
    metrics = api.get("/metrics", "root").text
    assert 'metagenx_fits_finished_total{outcome="succeeded"} 3.0' in metrics
    assert "metagenx_queue_length 0.0" in metrics and "metagenx_running_fits 0.0" in metrics
    assert "metagenx_evaluations_per_second" in metrics


def test_reprocess_with_changed_settings_and_parameters(api: Api, xray: Path) -> None:
    original = api.wait(api.submit(xray).json()["id"])
    changed = api.post(f"/api/v1/jobs/{original['id']}/reprocess", json={"settings": {"max_generations": 2}})
    assert changed.status_code == 201, changed.text
    assert changed.json()["settings"]["max_generations"] == 2 and changed.json()["settings"]["seed"] == 1
    same = api.post(f"/api/v1/jobs/{original['id']}/reprocess", json={"settings": {"max_generations": 2}})
    assert same.status_code == 200 and same.json()["id"] == changed.json()["id"]

    name = original["result"]["parameters"][0]["name"]
    fixed = api.post(
        f"/api/v1/jobs/{original['id']}/reprocess",
        json={"parameters": [{"name": name, "value": 12.0, "fit": False}]},
    )
    assert fixed.status_code == 201
    done = api.wait(fixed.json()["id"])
    assert done["overrides"] == [{"name": name, "value": 12.0, "fit": False, "min": None, "max": None}]
    assert name not in {p["name"] for p in done["result"]["parameters"]}, "the fixed parameter was not fitted"
    assert api.wait(changed.json()["id"])["result"]["generations"] == 2

    bad = api.post(f"/api/v1/jobs/{original['id']}/reprocess", json={"settings": {"kmm": 0.5}})
    assert bad.status_code == 422 and "kmm" in bad.json()["detail"]


def test_cancel_delete_and_rerun(api: Api, xray: Path) -> None:
    job = api.submit(xray, LONG).json()
    api.wait_state(job["id"], "running")
    refused = api.delete(f"/api/v1/jobs/{job['id']}")
    assert refused.status_code == 409 and "cancel it" in refused.json()["detail"]
    cancelled = api.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["error"] == "cancelled on request"
    assert api.post(f"/api/v1/jobs/{job['id']}/cancel").json()["state"] == "cancelled"

    rerun = api.post(f"/api/v1/jobs/{job['id']}/reprocess", json={})
    assert rerun.status_code == 201 and rerun.json()["id"] == job["id"] and rerun.json()["state"] == "queued"
    api.post(f"/api/v1/jobs/{job['id']}/cancel")

    assert api.delete(f"/api/v1/jobs/{job['id']}").status_code == 204
    assert api.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert not list((api.settings.data_dir / "studies" / "alice" / "default").iterdir())
    resubmitted = api.submit(xray, LONG)
    assert resubmitted.status_code == 201 and resubmitted.json()["created"] is True
    api.post(f"/api/v1/jobs/{resubmitted.json()['id']}/cancel")


def test_an_hdf5_file_that_is_not_a_genx_model_is_refused_at_upload(api: Api, tmp_path: Path) -> None:
    other = tmp_path / "other.hgx"
    with h5py.File(other, "w") as handle:
        handle["something"] = [1, 2, 3]
    answer = api.submit(other)
    assert answer.status_code == 422 and "other.hgx" in answer.json()["detail"]


def test_a_model_whose_script_fails_fails_its_job_with_the_reason(
    api: Api, superadam: Path, tmp_path: Path
) -> None:
    model = GenxModel.load(superadam)
    model.model.set_script(
        model.script.replace("def Sim(data):", "def Sim(data):\n    raise ValueError('no beam')")
    )
    broken = model.save(tmp_path / "broken.hgx")
    job = api.submit(broken).json()
    done = api.wait(job["id"])
    assert done["state"] == "failed"
    assert "ValueError: no beam" in done["error"] and "script line" in done["error"], done["error"]
    assert api.get("/healthz").json()["status"] == "ok"
