"""The server on the PostgreSQL store: submit, run, list, follow, cancel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import LONG, StartApi
from tests.store.conftest import pg_schema, pg_server_url  # noqa: F401


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:  # noqa: F811
    with pg_schema(pg_server_url) as url:
        yield url


def test_the_api_on_postgresql(pg_url: str, start_api: StartApi, xray: Path) -> None:
    """(``pg_url`` first: its schema is dropped after the app has stopped.)"""
    api = start_api(db=pg_url)
    assert api.get("/healthz").json()["database"] == "ok"
    quick = api.submit(xray).json()
    long = api.submit(xray, LONG, user="bob").json()
    done = api.wait(quick["id"])
    assert done["state"] == "succeeded" and done["progress"]["generation"] == 3
    assert api.get("/api/v1/jobs", "alice").json()["total"] == 1
    assert api.get("/api/v1/jobs", "root").json()["total"] == 2
    assert api.submit(xray).status_code == 200
    api.wait_state(long["id"], "running", user="bob")
    assert api.post(f"/api/v1/jobs/{long['id']}/cancel", "bob").json()["state"] == "cancelled"
    counts = {p["owner"]: p["counts"] for p in api.get("/api/v1/projects", "root").json()["items"]}
    assert counts["alice"]["succeeded"] == 1 and counts["bob"]["cancelled"] == 1
