"""The trust boundary, attacked on a real server (as root, like CI): uploads and runner messages.

Every probe runs once with its protection in place, where it must be stopped, and once with that
protection switched off in the test, where it must work: a probe that stopped working cannot
pass unnoticed. In every case a neighbouring job of another user finishes with the FOM GenX
recomputes from its fitted file, and ``/healthz`` stays ok.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.settings import FitSettings
from metagenx.events import Event, Failed, Finished, Progress, Ready, Snapshot, Started
from metagenx.runner import process
from metagenx.sandbox.policy import Layer, MiB, SandboxPolicy
from metagenx.study.definition import study_from_dict
from metagenx.study.expand import expand
from tests.server.conftest import QUICK, Api, StartApi
from tests.server.payloads import absurd_hgx, forging_model, linking_model, message, pickle_hgx
from tests.server.test_api_studies import post_study

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root (CI runs as root)")

VICTIM = {"seed": 2, "max_generations": 150, "population": 20, "tolerance": 0.0, "min_spread": 0.0}
"""A fit of bob's that runs for several seconds: long enough to be running when alice attacks."""
FAKE_FOM = 12345.0


@pytest.fixture(scope="module")
def fake_result(superadam: Path) -> dict[str, Any]:
    """A well-formed fit result with a made-up FOM (what a forger would send)."""
    model = GenxModel.load(superadam)
    result = run_fit(model, FitSettings(seed=1, max_generations=1, population=6))
    return dataclasses.asdict(result) | {"fom": FAKE_FOM}  # as a runner sends it (no computed flags)


@pytest.fixture
def server(start_api: StartApi) -> Api:
    """A sandboxed server with two workers (an attacker's job and a victim's run side by side)."""
    return start_api(workers=2)


def neighbour(api: Api, model: Path, settings: dict[str, Any] | None = None) -> int:
    """Bob's job (an honest fit); checked by :func:`finished_honestly`."""
    answer = api.submit(model, settings or QUICK | {"seed": 7}, user="bob")
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def finished_honestly(api: Api, job_id: int, tmp_path: Path) -> dict[str, Any]:
    """Bob's job succeeded with the FOM GenX recomputes from its fitted file; the server is healthy."""
    done = api.wait(job_id, "bob")
    assert done["state"] == "succeeded", done
    fitted = tmp_path / f"bob-{job_id}.hgx"
    fitted.write_bytes(api.get(f"/api/v1/jobs/{job_id}/artifacts/model", "bob").content)
    assert GenxModel.load(fitted).simulate() == done["fom"]
    health = api.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok", health.json()
    return done


def wait_running(api: Api, job_id: int, user: str) -> None:
    """Until the job's fit has reported progress."""
    deadline = time.monotonic() + 60
    while (api.get(f"/api/v1/jobs/{job_id}", user).json().get("progress") or {}).get("generation") is None:
        assert time.monotonic() < deadline, f"job {job_id} never ran"
        time.sleep(0.05)


def security_events(api: Api, job_id: int, user: str) -> list[str]:
    return [
        str(data["message"])
        for kind, data in api.events(f"/api/v1/jobs/{job_id}/events", user)
        if kind == "security"
    ]


# -- pickles in .hgx files ------------------------------------------------------------------------
def test_a_pickle_in_an_hgx_runs_nothing_as_a_job_a_study_a_watch_or_a_tune(
    server: Api, superadam: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pickle-ran"
    evil = pickle_hgx(superadam, tmp_path / "film.hgx", marker)
    bob = neighbour(server, superadam)
    files = {"model": (evil.name, evil.read_bytes())}
    answers = {
        "job": server.post("/api/v1/jobs", files=files, data={"settings": json.dumps(QUICK)}),
        "study": post_study(server, {"name": "s", "template": evil.name}, [(evil.name, evil)]),
        "watch": server.post(
            "/api/v1/watches",
            files={"template": (evil.name, evil.read_bytes())},
            data={"definition": json.dumps({"name": "w"})},
        ),
        "tune": server.post("/api/v1/tunes", files=[("models", (evil.name, evil.read_bytes()))]),
    }
    for what, answer in answers.items():
        assert answer.status_code == 422, (what, answer.text)
        assert ".system" in answer.json()["detail"] and "nothing in it was run" in answer.json()["detail"]
    local = subprocess.run(
        [sys.executable, "-m", "metagenx", "info", str(evil)], capture_output=True, text=True, check=False
    )
    assert local.returncode != 0 and ".system" in local.stderr, "outside the sandbox too"
    assert not marker.exists(), "the pickle never ran"
    finished_honestly(server, bob, tmp_path)

    unguarded = (
        "from genx import diffev, model_control\n"
        f"model_control.ModelController(diffev.DiffEv()).load_file({str(evil)!r})"
    )
    subprocess.run([sys.executable, "-c", unguarded], capture_output=True, check=False)
    assert marker.exists(), "without the allowlist, GenX's own loader runs the payload"


# -- runner messages ------------------------------------------------------------------------------
def forged_lines(victim: int, result: dict[str, Any]) -> list[bytes]:
    """Messages about bob's job ``victim``: a result, progress, an error, and types a runner never sends."""
    return [
        message("result", job_id=victim, result=result, stop_reason=None),
        message(
            "progress", job_id=victim, generation=99999, best_fom=1.0, evaluations=1, elapsed=1.0, solve=None
        ),
        message("error", job_id=victim, kind="ModelScriptError", message="FORGED by alice"),
        message("crashed", job_id=victim, reason="FORGED by alice"),
        message("dropped", job_id=victim, reason="FORGED by alice"),
        message("tune", job_id=victim, report={}, stop_reason="FORGED by alice"),
        message("log", job_id=victim, message="FORGED by alice"),
    ]


def attack_a_running_job(
    api: Api, superadam: Path, tmp_path: Path, fake_result: dict[str, Any]
) -> tuple[int, int]:
    """Bob's long fit, then alice's model that speaks for it; (bob's job, alice's job)."""
    bob = neighbour(api, superadam, VICTIM)
    wait_running(api, bob, "bob")
    forger = forging_model(
        superadam, tmp_path / "forger.hgx", forged_lines(bob, fake_result), repeat=3, pause=0.3
    )
    alice = api.submit(forger, QUICK | {"seed": 3})
    assert alice.status_code == 201, alice.text
    return bob, int(alice.json()["id"])


def test_forged_messages_about_another_users_job_fail_the_forger_only(
    server: Api, superadam: Path, tmp_path: Path, fake_result: dict[str, Any]
) -> None:
    bob, alice = attack_a_running_job(server, superadam, tmp_path, fake_result)
    attacker = server.wait(alice)
    assert attacker["state"] == "failed" and "speaks only for its own task" in attacker["error"], attacker
    assert any("speaks only for its own task" in text for text in security_events(server, alice, "alice"))
    done = finished_honestly(server, bob, tmp_path)
    assert done["fom"] != FAKE_FOM
    assert not [d for _, d in server.events(f"/api/v1/jobs/{bob}/events", "bob") if "FORGED" in json.dumps(d)]


def test_without_binding_forged_messages_would_finish_another_users_job(
    server: Api, superadam: Path, tmp_path: Path, fake_result: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "check_bound", lambda task, message: None)
    bob, _ = attack_a_running_job(server, superadam, tmp_path, fake_result)
    done = server.wait(bob, "bob")
    assert done["fom"] == FAKE_FOM or "FORGED" in (done["error"] or ""), done


MALFORMED = {
    "a wrong type": message(
        "progress", job_id=1, generation="many", best_fom=1.0, evaluations=1, elapsed=1.0, solve=None
    ),
    "NaN": b'{"type":"progress","job_id":1,"generation":1,"best_fom":NaN,"evaluations":1,'
    b'"elapsed":NaN,"solve":null}\n',
    "a missing field": message("progress", job_id=1, generation=1),
    "an unknown type": message("shell", job_id=1, command="id"),
    "an unknown field": message("error", job_id=1, kind="x", message="y", artifacts={"model": "/etc/shadow"}),
    "not JSON": b"\x00\x01 this is not a message\n",
    "a 10 MB line": b'{"type":"log","message":"' + b"x" * 10_000_000 + b'"}\n',
}


def test_malformed_messages_fail_only_their_own_job(server: Api, superadam: Path, tmp_path: Path) -> None:
    bob = neighbour(server, superadam)
    jobs = {}
    for index, (name, line) in enumerate(MALFORMED.items()):
        model = forging_model(superadam, tmp_path / f"malformed{index}.hgx", [line])
        answer = server.submit(model, QUICK | {"seed": 10 + index})
        assert answer.status_code == 201, answer.text
        jobs[name] = int(answer.json()["id"])
    for name, job_id in jobs.items():
        done = server.wait(job_id)
        assert done["state"] == "failed", (name, done)
        assert done["error"].startswith("stopped: the runner sent"), (name, done["error"])
        assert security_events(server, job_id, "alice"), name
        assert done["runs"] == 1, "a broken message is not retried (nor replayed after a restart)"
    finished_honestly(server, bob, tmp_path)


def test_without_checks_malformed_messages_would_reach_the_controller(
    server: Api, superadam: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds: dict[str, Any] = {"ready": Ready, "started": Started, "progress": Progress}
    kinds |= {"snapshot": Snapshot, "result": Finished, "error": Failed}

    def lax(line: bytes) -> Any:  # what a runner says, believed as it is
        fields = json.loads(line)
        return kinds[fields.pop("type")](**fields)

    seen: list[Event] = []
    server.client.app.state.service.controller.listeners.append(seen.append)  # type: ignore[attr-defined]
    monkeypatch.setattr(process, "decode_runner_message", lax)
    monkeypatch.setattr(process, "check_bound", lambda task, message: None)
    line = MALFORMED["a wrong type"]
    server.submit(forging_model(superadam, tmp_path / "lax.hgx", [line]), QUICK)
    deadline = time.monotonic() + 60
    while not any(isinstance(e, Progress) and e.generation == "many" for e in seen):  # type: ignore[comparison-overlap]
        assert time.monotonic() < deadline, "the malformed message never got through"
        time.sleep(0.1)


# -- the files a job offers ---------------------------------------------------------------------
def link_to_shadow(api: Api, superadam: Path, tmp_path: Path) -> int:
    """Alice's fit whose script links ``solve.json`` (a name metagenx serves) to ``/etc/shadow``."""
    folders = str(api.settings.data_dir / "studies" / "alice" / "*" / "*" / "jobs" / "*")
    model = linking_model(superadam, tmp_path / "linker.hgx", folders, "solve.json", "/etc/shadow")
    answer = api.submit(model, QUICK | {"seed": 4})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def links_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch off the two sandbox layers against links: Landlock (which refuses to create one) and
    the clean-up after a fit (which deletes any)."""
    from metagenx.sandbox import workdir
    from metagenx.server import sandboxing

    monkeypatch.setattr(sandboxing, "SandboxPolicy", functools.partial(SandboxPolicy, landlock=Layer.OFF))
    monkeypatch.setattr(workdir, "remove", lambda path, info: None)


@pytest.mark.parametrize("layers", ["all", "only the controller's check"])
def test_a_result_never_offers_a_file_outside_its_job(
    start_api: StartApi, superadam: Path, tmp_path: Path, layers: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if layers != "all":
        links_kept(monkeypatch)
    api = start_api(workers=2)
    bob = neighbour(api, superadam)
    alice = link_to_shadow(api, superadam, tmp_path)
    done = api.wait(alice)
    assert "solve_json" not in {a["kind"] for a in done["artifacts"]}
    assert api.get(f"/api/v1/jobs/{alice}/artifacts/solve_json").status_code == 404
    if layers != "all":
        assert any("solve.json: a symbolic link" in text for text in security_events(api, alice, "alice"))
    finished_honestly(api, bob, tmp_path)


def test_without_the_checks_a_link_would_serve_etc_shadow(
    start_api: StartApi, superadam: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metagenx.outputs import collect

    links_kept(monkeypatch)
    monkeypatch.setattr(collect, "refusal", lambda info, limit: None)
    monkeypatch.setattr("metagenx.server.jobs.refusal", lambda info, limit: None)
    api = start_api(workers=1)
    alice = link_to_shadow(api, superadam, tmp_path)
    api.wait(alice)
    served = api.get(f"/api/v1/jobs/{alice}/artifacts/solve_json")
    assert served.status_code == 200 and served.content == Path("/etc/shadow").read_bytes()


# -- study definitions ----------------------------------------------------------------------------
def bobs_data(api: Api, superadam: Path) -> Path:
    """A data file of bob's on the server, holding a secret where a number belongs."""
    folder = api.settings.data_dir / "studies" / "bob" / "default" / "private"
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "T300.dat"
    secret.write_text("# temperature: 300\n0.1 mgx_bobs_secret_token 0.01\n")
    return secret


def escaping_studies(secret: Path) -> dict[str, dict[str, Any]]:
    relative = os.path.relpath(secret, "/")
    return {
        "an absolute template": {"template": "/etc/hostname"},
        "a template above the folder": {"template": "../../../bob/default/private/T300.dat"},
        "an absolute data path": {"template": "SuperAdam_SiO.hgx", "data": {"files": [str(secret)]}},
        "a data glob above the folder": {
            "template": "SuperAdam_SiO.hgx",
            "data": {"files": ["../../../*/*/*/*.dat"]},
        },
        "a home folder": {"template": "SuperAdam_SiO.hgx", "data": {"files": ["~root/*"]}},
        "a glob from the root": {
            "template": "SuperAdam_SiO.hgx",
            "data": {"files": ["/" + relative.replace("T300", "*")]},
        },
    }


def test_a_study_reaches_no_file_outside_its_upload(server: Api, superadam: Path, tmp_path: Path) -> None:
    secret = bobs_data(server, superadam)
    bob = neighbour(server, superadam)
    for name, definition in escaping_studies(secret).items():
        answer = post_study(
            server, {"name": name.replace(" ", "-"), **definition}, [(superadam.name, superadam)]
        )
        assert answer.status_code == 422, (name, answer.text)
        assert "inside the study's folder" in answer.json()["detail"], (name, answer.json())
        assert "mgx_bobs_secret" not in answer.text
    broken = post_study(
        server,
        {"name": "broken", "template": superadam.name, "data": {"files": ["T300.dat"], "loader": "default"}},
        [(superadam.name, superadam), ("T300.dat", secret)],
    )
    assert broken.status_code in (201, 422), broken.text
    assert "mgx_bobs_secret" not in broken.text
    if broken.status_code == 201:
        study = broken.json()["id"]
        job = server.get("/api/v1/jobs", params={"study": study}).json()["items"][0]
        done = server.wait(job["id"])
        assert done["state"] == "failed" and "mgx_bobs_secret" not in json.dumps(done)
    assert server.get("/api/v1/studies").json()["total"] <= 1
    finished_honestly(server, bob, tmp_path)


def test_unconfined_the_same_studies_would_read_bobs_file(superadam: Path, tmp_path: Path) -> None:
    folder = tmp_path / "alice-study"
    folder.mkdir()
    (folder / superadam.name).write_bytes(superadam.read_bytes())
    secret = tmp_path / "bob" / "T300.dat"
    secret.parent.mkdir()
    secret.write_text("# temperature: 300\n0.1 0.5 0.01\n0.2 0.4 0.01\n")
    definition = {"template": superadam.name, "data": {"files": [str(secret)]}}
    specs = expand(study_from_dict(definition, folder))
    assert [a.path for s in specs for a in s.data] == [str(secret)], "as a local study file may"


# -- absurd sizes ---------------------------------------------------------------------------------
def test_absurd_dataset_shapes_are_refused_and_bounded_by_the_sandbox(
    server: Api, superadam: Path, tmp_path: Path
) -> None:
    bob = neighbour(server, superadam)
    huge = absurd_hgx(superadam, tmp_path / "huge.hgx", 1_000_000_000)
    assert huge.stat().st_size < 10 * MiB
    refused = server.submit(huge)
    assert refused.status_code == 422 and "declare more than 512 MiB" in refused.json()["detail"], (
        refused.text
    )

    service = server.client.app.state.service  # type: ignore[attr-defined]
    service.reader.limits = service.reader.limits.merged({"memory_bytes": 512 * MiB})
    large = absurd_hgx(superadam, tmp_path / "large.hgx", 55_000_000, ("x_raw",))  # 440 MB
    answer = post_study(server, {"name": "large", "template": large.name}, [(large.name, large)])
    assert answer.status_code == 422, answer.text
    assert "more than 512 MiB of memory" in answer.json()["detail"], answer.json()
    finished_honestly(server, bob, tmp_path)


def test_unsandboxed_the_study_check_would_take_the_memory(
    start_api: StartApi, superadam: Path, tmp_path: Path
) -> None:
    api = start_api(unsafe_no_sandbox=True)
    large = absurd_hgx(superadam, tmp_path / "large.hgx", 55_000_000, ("x_raw",))  # 420 MiB of zeros
    answer = post_study(api, {"name": "large", "template": large.name}, [(large.name, large)])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert answer.status_code == 201, answer.text
    assert peak > 420 * MiB, f"the check read all the declared data into memory (peak {peak / MiB:.0f} MiB)"


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(server: Api, superadam: Path) -> None:
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(64):
            sent.append(1)
            yield b"x" * 65536

    answer = server.client.post(
        "/api/v1/jobs", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert answer.status_code == 401
    assert len(sent) <= 2, f"{len(sent)} chunks were read before the 401"
    assert (
        server.client.post(
            "/api/v1/jobs", content=b"x", headers={"Authorization": "Bearer mgx_nope"}
        ).status_code
        == 401
    )


def test_the_dashboard_and_the_data_folder_are_locked_down(server: Api) -> None:
    page = server.client.get("/")
    policy = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    assert (
        page.headers["x-content-type-options"] == "nosniff"
        and page.headers["referrer-policy"] == "no-referrer"
    )
    data = server.settings.data_dir
    assert (data.stat().st_mode & 0o777) == 0o700
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in data.glob("*.db"))
    assert server.get("/metrics").status_code == 403 and server.get("/metrics", "root").status_code == 200
