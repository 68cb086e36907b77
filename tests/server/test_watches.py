"""Watches on a server: files pushed over HTTP (or by `metagenx watch --server`), each fitted once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metagenx.client import ApiClient, ClientConfig, parse_sse
from tests.server.conftest import Api, StartApi, make_accounts
from tests.server.test_e2e import METAGENX, Server
from tests.study.conftest import simulate_curve

BUDGET = {"seed": 1, "max_generations": 8, "population": 10}
RUNS = {"run01.dat": (1150.0, 20.0), "run02.dat": (1190.0, 100.0), "run03.dat": (1230.0, 300.0)}
"""SiO thickness (Å) and sample temperature (K) of each simulated measurement."""
BROKEN = b"# temperature: 50 K\n# 2theta R dR\n0.1 0.2\ngarbage here\n"


def measurement(superadam: Path, thickness: float, temperature: float, seed: int) -> bytes:
    """A SuperAdam-like data file with 2 % noise and the temperature in its header."""
    x, y = simulate_curve(superadam, thickness)
    error = 0.02 * y
    noisy = y + error * np.random.default_rng(seed).standard_normal(y.size)
    lines = [f"# temperature: {temperature:g} K", "# 2theta R dR"]
    lines += [" ".join(f"{v:.10g}" for v in row) for row in np.column_stack([x, noisy, error])]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def files(superadam: Path) -> dict[str, bytes]:
    made = {name: measurement(superadam, d, t, i) for i, (name, (d, t)) in enumerate(RUNS.items())}
    return made | {"run01-new": measurement(superadam, 1160.0, 20.0, 9)}


def definition(name: str, **changes: Any) -> str:
    values = {"name": name, "settings": BUDGET, "loader_options": {"commands": "loader"}} | changes
    return json.dumps(values)


def create(api: Api, template: Path, text: str, user: str = "alice") -> Any:
    return api.post(
        "/api/v1/watches",
        user,
        files={"template": (template.name, template.read_bytes())},
        data={"definition": text},
    )


def push(api: Api, watch_id: int, name: str, content: bytes, user: str = "alice") -> Any:
    return api.post(f"/api/v1/watches/{watch_id}/files", user, files={"file": (name, content)})


def wait_series(api: Api, watch_id: int, done: Callable[[list[dict[str, Any]]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        series = dict(api.get(f"/api/v1/watches/{watch_id}").json())
        if done(series["rows"]):
            return series
        assert time.monotonic() < deadline, series["rows"]
        time.sleep(0.2)


def all_finished(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda rows: (
        len(rows) >= count and all(r["state"] in ("succeeded", "failed", "cancelled") for r in rows)
    )


def test_pushed_files_are_fitted_once_per_content_and_exported(
    start_api: StartApi, superadam: Path, files: dict[str, bytes], tmp_path: Path
) -> None:
    api = start_api(workers=2)
    made = create(api, superadam, definition("beamtime", order="header:temperature"))
    assert made.status_code == 201, made.text
    watch = made.json()
    assert watch["created"] is True and watch["template"] == superadam.name and watch["settings"]["seed"] == 1
    again = create(api, superadam, definition("beamtime", order="header:temperature"))
    assert again.status_code == 200 and again.json()["id"] == watch["id"] and again.json()["created"] is False
    other = create(api, superadam, definition("beamtime", settings={"seed": 2}))
    assert other.status_code == 409 and "another template or settings" in other.json()["detail"]
    watch_id = watch["id"]

    jobs = {}
    for name in RUNS:
        answer = push(api, watch_id, name, files[name])
        assert answer.status_code == 201 and answer.json()["created"] is True, answer.text
        jobs[name] = answer.json()["job_id"]
    broken = push(api, watch_id, "broken.dat", BROKEN)
    assert broken.status_code == 201
    unchanged = push(api, watch_id, "run02.dat", files["run02.dat"])
    assert unchanged.status_code == 200 and unchanged.json() | {"created": False} == unchanged.json()
    assert unchanged.json()["job_id"] == jobs["run02.dat"]
    assert push(api, watch_id, "empty.dat", b"").status_code == 422

    series = wait_series(api, watch_id, all_finished(4))
    rows = {row["label"]: row for row in series["rows"]}
    assert sorted(rows) == ["broken.dat", "run01.dat", "run02.dat", "run03.dat"]
    failed = rows.pop("broken.dat")
    assert failed["state"] == "failed" and "broken.dat" in failed["error"] and failed["fom"] is None
    for name, row in rows.items():
        assert row["state"] == "succeeded" and row["fom"] > 0 and row["error"] is None
        assert row["order_value"] == RUNS[name][1] and "SiO.setD" in row["parameters"]
    assert failed["order_value"] == 50.0 and series["order_label"] == "temperature (K)"
    assert series["counts"]["succeeded"] == 3 and "SiO.setD" in series["parameters"]

    # a file rewritten with new content is fitted again; the live stream shows its row
    events: list[tuple[str, dict[str, Any]]] = []
    reader = threading.Thread(target=follow, args=(api, watch_id, events), daemon=True)
    reader.start()
    time.sleep(0.5)
    changed = push(api, watch_id, "run01.dat", files["run01-new"])
    assert changed.status_code == 201 and changed.json()["job_id"] not in jobs.values()
    reader.join(120)
    new_rows = [d for k, d in events if k == "row" and d["job_id"] == changed.json()["job_id"]]
    # the first row is read as the job is queued, or already claimed (a queued job wakes the controller)
    assert new_rows[0]["state"] in ("queued", "running") and not new_rows[0]["finished"]
    assert new_rows[-1]["state"] == "succeeded" and new_rows[-1]["finished"]
    assert new_rows[-1]["parameters"]["SiO.setD"] > 0
    series = api.get(f"/api/v1/watches/{watch_id}").json()
    assert Counter(r["label"] for r in series["rows"])["run01.dat"] == 2 and series["files"] == 5

    csv = api.get(f"/api/v1/watches/{watch_id}/table", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    header, *lines = csv.text.splitlines()
    assert len(lines) == 5 and "order_value" in header.split(",") and "SiO.setD" in header.split(",")
    table = api.get(f"/api/v1/watches/{watch_id}/table", params={"format": "json"}).json()
    assert [r["data_file"] for r in table["rows"]][-1] == "run01.dat"
    plot = api.get(f"/api/v1/watches/{watch_id}/plots/parameter_trends.png")
    assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")
    assert api.get(f"/api/v1/watches/{watch_id}/plots/parameter_trends.png").content == plot.content
    assert api.get(f"/api/v1/watches/{watch_id}/plots/other.png").status_code == 404
    assert api.get(f"/api/v1/studies/{watch_id}").json()["kind"] == "watch"

    for path in ("", "/table", "/plots/parameter_trends.png", "/events"):
        assert api.get(f"/api/v1/watches/{watch_id}{path}", "bob").status_code == 404, path
    assert push(api, watch_id, "run09.dat", files["run03.dat"], "bob").status_code == 404
    assert api.get("/api/v1/watches", "bob").json()["total"] == 0
    assert [w["id"] for w in api.get("/api/v1/watches").json()["items"]] == [watch_id]
    assert [w["id"] for w in api.get("/api/v1/watches", "root").json()["items"]] == [watch_id]

    text = tmp_path / "not-a-model.hgx"
    text.write_text("just text\n")
    refused = create(api, text, definition("other"))
    assert refused.status_code == 422 and "not-a-model.hgx" in refused.json()["detail"]
    assert create(api, superadam, definition("other", order="temperature")).status_code == 422
    assert create(api, superadam, definition("other", loader="nope")).status_code == 422


def follow(api: Api, watch_id: int, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Collect the watch's events until a fit that started while following has finished."""
    started: set[int] = set()
    with api.client.stream(
        "GET", f"/api/v1/watches/{watch_id}/events", headers=api.headers("alice")
    ) as response:
        for kind, data, _ in parse_sse(response.iter_lines()):
            events.append((kind, data))
            if kind == "row" and data["state"] in ("queued", "running"):
                started.add(data["job_id"])
            if kind == "row" and data["job_id"] in started and data["finished"]:
                return


def test_a_sequential_watch_seeds_each_fit_and_carries_on_past_a_broken_file(
    api: Api, superadam: Path, files: dict[str, bytes]
) -> None:
    watch_id = create(api, superadam, definition("chain", sequential=True)).json()["id"]
    first = push(api, watch_id, "run01.dat", files["run01.dat"]).json()["job_id"]
    broken = push(api, watch_id, "broken.dat", BROKEN).json()["job_id"]
    second = push(api, watch_id, "run02.dat", files["run02.dat"]).json()[
        "job_id"
    ]  # pushed behind the broken one

    rows = {r["job_id"]: r for r in wait_series(api, watch_id, all_finished(3))["rows"]}
    assert rows[broken]["state"] == "failed" and rows[broken]["seeded_from"] == first
    assert rows[second]["state"] == "succeeded", rows[second]
    assert rows[second]["seeded_from"] == first, "relinked past the broken file"
    states = [d["state"] for k, d in api.events(f"/api/v1/jobs/{second}/events") if k == "state"]
    assert states[:3] == ["cancelled", "queued", "running"], "cancelled with the broken file, then requeued"
    start = {p["name"]: p["start"] for p in api.get(f"/api/v1/jobs/{second}").json()["result"]["parameters"]}
    assert start["SiO.setD"] == rows[first]["parameters"]["SiO.setD"]


def test_watch_command_pushes_a_folder_to_the_server_each_file_once(
    tmp_path: Path, superadam: Path, files: dict[str, bytes]
) -> None:
    data = tmp_path / "data"
    token = make_accounts(data)["alice"]
    server = Server(data)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "run01.dat").write_bytes(files["run01.dat"])  # there before the watcher starts
    (incoming / "notes.txt").write_text("not a data file\n")
    command = [
        *METAGENX, "watch", str(superadam), str(incoming), "--pattern", "*.dat", "--server", server.url,
        "--token", token, "--project", "beamline", "--loader-option", "commands=loader", "--order",
        "header:temperature", "--seed", "1", "--max-generations", "8", "--pop", "10",
        "--out-dir", str(tmp_path / "out"),
    ]  # fmt: skip
    env = os.environ | {"METAGENX_CLIENT_CONFIG": "/nonexistent/client.toml", "COLUMNS": "120"}
    log = tmp_path / "watch.log"
    try:
        with ApiClient(ClientConfig(server.url, token)) as client, log.open("w") as output:

            def watch_until(done: Callable[[list[dict[str, Any]]], bool], pause: float = 0.0) -> None:
                watcher = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
                try:
                    (incoming / "run02.dat").write_bytes(files["run02.dat"])
                    (incoming / "broken.dat").write_bytes(BROKEN)
                    wait_rows(client, done)
                    time.sleep(pause)
                    watcher.send_signal(signal.SIGINT)
                    assert watcher.wait(60) == 0, log.read_text()
                finally:
                    watcher.kill()

            watch_until(lambda rows: finished(rows) == 3)
            (incoming / "run03.dat").write_bytes(files["run03.dat"])  # arrives while the watcher is stopped
            watch_until(lambda rows: finished(rows) == 4, pause=1.5)  # time to push anything twice
            series = client.watch(client.watches()["items"][0]["id"])
            rows = series["rows"]
    finally:
        server.stop(signal.SIGKILL)
    labels = Counter(row["label"] for row in rows)
    assert labels == {"run01.dat": 1, "run02.dat": 1, "run03.dat": 1, "broken.dat": 1}, rows
    states = {row["label"]: row["state"] for row in rows}
    assert states == {
        "run01.dat": "succeeded",
        "run02.dat": "succeeded",
        "run03.dat": "succeeded",
        "broken.dat": "failed",
    }
    assert {row["label"]: row["order_value"] for row in rows}["run03.dat"] == 300.0
    assert series["order_label"] == "temperature (K)"  # the pusher sends the unit it read
    assert (tmp_path / "out" / "results.csv").read_text().count("\n") == 5
    assert (tmp_path / "out" / "parameter_trends.png").read_bytes().startswith(b"\x89PNG")


def finished(rows: list[dict[str, Any]]) -> int:
    return sum(row["state"] in ("succeeded", "failed") for row in rows)


def wait_rows(client: ApiClient, done: Callable[[list[dict[str, Any]]], bool]) -> None:
    """Wait until the rows of the one watch of the test are ``done``."""
    deadline = time.monotonic() + 150
    while True:
        listed = client.watches()["items"]
        if listed and done(client.watch(listed[0]["id"])["rows"]):
            return
        assert time.monotonic() < deadline, listed
        time.sleep(0.3)
