"""Fixtures of the server tests: a real app (TestClient) on a real SQLite file, real users and tokens.

Three accounts exist in every store: ``alice`` and ``bob`` (users) and ``root`` (admin).
Fits are GenX's bundled examples with tiny budgets, run by one local worker.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the project uses
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from metagenx.client import parse_sse
from metagenx.server import Settings, create_app
from metagenx.store import add_user, create_token, open_store

QUICK = {"max_generations": 3, "seed": 1}
"""Settings of a fit that takes about a second."""
LONG = {"max_generations": 100_000, "max_time": 120.0, "seed": 1, "tolerance": 0.0, "min_spread": 0.0}
"""Settings of a fit that runs until cancelled or killed."""


@dataclass
class Api:
    """A running app and a token per account."""

    client: TestClient
    tokens: dict[str, str]
    settings: Settings

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, path: str, user: str = "alice", **options: Any) -> Any:
        return self.client.get(path, headers=self.headers(user), **options)

    def post(self, path: str, user: str = "alice", **options: Any) -> Any:
        return self.client.post(path, headers=self.headers(user), **options)

    def delete(self, path: str, user: str = "alice") -> Any:
        return self.client.delete(path, headers=self.headers(user))

    def submit(
        self, model: Path, settings: dict[str, Any] | None = None, user: str = "alice", **form: str
    ) -> Any:
        """POST a model file with ``settings`` (default: a quick fit)."""
        files = {"model": (model.name, model.read_bytes())}
        data = {"settings": json.dumps(QUICK if settings is None else settings), **form}
        return self.post("/api/v1/jobs", user, files=files, data=data)

    def events(self, path: str, user: str = "alice") -> list[tuple[str, dict[str, Any]]]:
        """Every event of an SSE stream until it ends."""
        with self.client.stream("GET", path, headers=self.headers(user)) as response:
            assert response.status_code == 200, response.read()
            return [(kind, data) for kind, data, _ in parse_sse(response.iter_lines())]

    def wait_state(self, job_id: int, state: str, user: str = "alice", timeout: float = 60.0) -> None:
        """Poll until the job is in ``state``."""
        deadline = time.monotonic() + timeout
        while self.get(f"/api/v1/jobs/{job_id}", user).json()["state"] != state:
            assert time.monotonic() < deadline, f"job {job_id} never became {state}"
            time.sleep(0.05)

    def wait(self, job_id: int, user: str = "alice") -> dict[str, Any]:
        """Follow the job's events to its end; return the job."""
        events = self.events(f"/api/v1/jobs/{job_id}/events", user)
        assert events[-1][0] == "end", events
        return dict(self.get(f"/api/v1/jobs/{job_id}", user).json())


def make_accounts(data_dir: Path, db: str | None = None, **limits: Any) -> dict[str, str]:
    """Users alice, bob (``limits`` apply to both) and admin root, with a token each."""
    store = open_store(db, data_dir)
    try:
        with store.session() as session:
            add_user(session, "alice", **limits)
            add_user(session, "bob", **limits)
            add_user(session, "root", admin=True)
            return {name: create_token(session, name) for name in ("alice", "bob", "root")}
    finally:
        store.close()


StartApi = Callable[..., Api]


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[StartApi]:
    """``start_api(**settings)``: a running app on a fresh data directory (stopped after the test)."""
    clients: list[TestClient] = []

    def start(limits: dict[str, Any] | None = None, **options: Any) -> Api:
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "workers": 1, "sse_keepalive": 1.0}
        settings = Settings(**values | options)
        tokens = make_accounts(settings.data_dir, settings.db, **(limits or {}))
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return Api(client, tokens, settings)

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(start_api: StartApi) -> Api:
    """A running app with default settings (one worker)."""
    return start_api()
