"""The server runs every fit sandboxed, says so, and refuses to run fits unsandboxed by accident."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import StartApi


def test_fits_run_sandboxed_by_default(start_api: StartApi, superadam: Path) -> None:
    api = start_api()
    assert api.get("/healthz").json()["sandbox"] == "on"
    job = api.submit(superadam).json()
    assert api.wait(job["id"])["state"] == "succeeded"


def test_required_but_unavailable_sandbox_refuses_uploads_with_what_is_missing(
    start_api: StartApi, superadam: Path, tmp_path: Path
) -> None:
    api = start_api(bwrap=str(tmp_path / "no-such-bwrap"))
    health = api.get("/healthz")
    assert health.status_code == 503
    assert health.json()["sandbox"] == "unavailable" and health.json()["status"] == "degraded"
    refused = api.submit(superadam)
    assert refused.status_code == 503, refused.text
    assert "sandbox" in refused.json()["detail"] and "bubblewrap" in refused.json()["detail"]
    assert api.get("/api/v1/jobs").json()["total"] == 0, "nothing was queued"
    assert not list((api.settings.data_dir / "uploads").glob("*.hgx")), "nothing was kept"


def test_unsafe_no_sandbox_is_explicit_and_reported(start_api: StartApi, superadam: Path) -> None:
    api = start_api(unsafe_no_sandbox=True)
    assert api.get("/healthz").json()["sandbox"] == "off"
    job = api.submit(superadam).json()
    assert api.wait(job["id"])["state"] == "succeeded"


def test_a_user_s_own_limit_stops_their_fit_with_the_limit_named(
    start_api: StartApi, superadam: Path, tmp_path: Path
) -> None:
    from metagenx.engine.model import GenxModel

    model = GenxModel.load(superadam)
    model.model.set_script(
        model.script.replace("def Sim(data):", "def Sim(data):\n    import time; time.sleep(60)")
    )
    sleepy = model.save(tmp_path / "sleepy.hgx")
    api = start_api(limits={"limits": {"wall_seconds": 4.0}})
    job = api.submit(sleepy).json()
    done = api.wait(job["id"])
    assert done["state"] == "failed"
    assert "wall-time limit of 4 s" in done["error"], done["error"]
