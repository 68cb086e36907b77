"""Databases of the controller tests: a SQLite file for all, a real PostgreSQL schema where marked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.conftest import pg_schema, pg_server_url  # noqa: F401


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite for every controller test; tests marked ``both_stores`` also run on PostgreSQL."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'metagenx.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_server_url")) as url:
        yield url


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
