"""Server studies from the CLI: ``submit --study`` prints ``study N``, ``study status|results N``
show it (server from --server or the environment), ``status`` lists jobs newest first."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from metagenx.cli.server_study import server_study_id
from metagenx.client import ApiClient, ClientConfig
from tests.server.conftest import make_accounts
from tests.server.test_e2e import Server, cli

STUDY = """name = "two starts"
template = "X-ray_Reflectivity.hgx"
repeats = 2

[settings]
max_generations = 3
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    data = tmp_path_factory.mktemp("served") / "data"
    token = make_accounts(data)["alice"]
    server = Server(data)
    yield server, token
    if server.process.poll() is None:
        server.stop(signal.SIGTERM)


def wait_until_done(server: Server, token: str, study_id: int) -> None:
    with ApiClient(ClientConfig(server.url, token)) as client:
        deadline = time.monotonic() + 120
        while any(client.study(study_id)["counts"].get(state) for state in ("queued", "running")):
            assert time.monotonic() < deadline, client.study(study_id)
            time.sleep(0.3)


def test_a_server_study_from_submit_to_results(
    served: tuple[Server, str], xray: Path, tmp_path: Path
) -> None:
    server, token = served
    shutil.copy(xray, tmp_path / xray.name)
    (tmp_path / "study.toml").write_text(STUDY)
    env = {"METAGENX_TOKEN": token}
    submitted = cli(
        "submit",
        str(tmp_path / xray.name),
        "--study",
        str(tmp_path / "study.toml"),
        "--server",
        server.url,
        env=env,
    )
    last = submitted.stdout.splitlines()[-1]
    assert last.startswith("study "), submitted.stdout
    study_id = int(last.removeprefix("study "))
    assert f"metagenx study status {study_id}" in submitted.stderr

    status = cli("study", "status", str(study_id), "--server", server.url, env=env)
    assert f"study {study_id} (two starts, project default)" in status.stdout
    wait_until_done(server, token, study_id)
    by_environment = cli("study", "status", f"study {study_id}", env=env | {"METAGENX_SERVER": server.url})
    assert "2 succeeded" in by_environment.stdout

    download = tmp_path / "download"
    results = cli(
        "study", "results", str(study_id), "--server", server.url, "--download", str(download), env=env
    )
    assert "success rate" in results.stdout and f"(study {study_id})" in results.stdout
    assert (download / "results.csv").read_text().count("\n") == 3
    assert (download / "summary.json").is_file() and (download / "fom_distribution.png").is_file()


def test_status_lists_jobs_newest_first_with_their_kind(served: tuple[Server, str], xray: Path) -> None:
    server, token = served
    env = {"METAGENX_TOKEN": token, "METAGENX_SERVER": server.url, "COLUMNS": "200"}
    for seed in ("1", "2"):
        submitted = cli("submit", str(xray), "--max-generations", "2", "--seed", seed, env=env)
        assert submitted.stdout.splitlines()[-1].startswith("job ")
    listed = cli("status", env=env).stdout
    ids = [
        int(word)
        for word in listed.replace("│", " ").split("job ")[1:]
        for word in [word.split()[0]]
        if word.isdigit()
    ]
    assert len(ids) >= 2 and ids == sorted(ids, reverse=True), listed
    assert "newest first" in listed


def test_a_number_is_a_server_study_unless_such_a_folder_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert server_study_id("3", None) == 3
    assert server_study_id("study 3", None) == 3
    assert server_study_id("sweep", None) is None
    (tmp_path / "3").mkdir()
    assert server_study_id("3", None) is None
    assert server_study_id("3", "http://server:8000") == 3


def test_a_study_folder_is_still_read_locally(xray: Path, tmp_path: Path) -> None:
    from metagenx.study import Study

    folder = tmp_path / "sweep"
    Study(xray, name="sweep", repeats=2, settings={"max_generations": 2}).run(folder, workers=2, quiet=True)
    assert "2 succeeded" in cli("study", "status", str(folder)).stdout
    assert "success rate" in cli("study", "results", str(folder)).stdout
