"""Fixtures of the job-store tests: every test runs against a SQLite file and a real PostgreSQL.

PostgreSQL is expected on 127.0.0.1:5432, database ``test``, trust authentication, as
role ``postgres`` or ``root`` (override with ``METAGENX_TEST_PG=postgresql+psycopg://...``).
Each test gets its own schema, dropped afterwards. Without a server the PostgreSQL tests
skip locally and fail in CI (``CI=true``).
"""

from __future__ import annotations

import hashlib
import math
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from metagenx.engine.result import DatasetCurve, FitResult, ParameterResult, StopReason
from metagenx.engine.settings import FitSettings, ResolvedSettings
from metagenx.jobs import DataAssignment, JobSpec
from metagenx.store import NewJob, Store, Study, StudyKind, ensure_project, ensure_study, open_store

PG_CANDIDATES = tuple(
    os.environ.get("METAGENX_TEST_PG", "").split()
    or (f"postgresql+psycopg://{role}@127.0.0.1:5432/test" for role in ("postgres", "root"))
)


def in_ci() -> bool:
    """True on a CI runner, where every backend must be there."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """A URL of the test PostgreSQL server that accepts us."""
    problems = []
    for url in PG_CANDIDATES:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return url
        except OperationalError as error:
            problems.append(f"{url}: {str(error.orig).strip().splitlines()[0]}")
        finally:
            engine.dispose()
    reason = "PostgreSQL is not reachable: " + "; ".join(problems)
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def pg_schema(server_url: str) -> Iterator[str]:
    """A fresh, empty schema; yields a URL whose connections use it (``search_path``)."""
    schema = f"metagenx_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'metagenx.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_server_url")) as url:
        yield url


@pytest.fixture
def spare_db_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'spare.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_server_url")) as url:
        yield url


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A URL of an empty PostgreSQL schema (for the tests that only make sense there)."""
    with pg_schema(pg_server_url) as url:
        yield url


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    """An open, migrated store."""
    opened = open_store(db_url, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def study(store: Store) -> Study:
    """An empty study in a fresh project."""
    with store.session() as session:
        project = ensure_project(session, "beamtime")
        return ensure_study(session, project, "sweep", StudyKind.STUDY, definition={"seeds": 3})


MakeSpec = Callable[..., NewJob]


@pytest.fixture
def make_spec() -> MakeSpec:
    """Factory of jobs to store: ``make_spec(i)`` is a distinct fit (own model bytes and seed);
    ``model_path=``, ``sequence=`` change its spec, ``depends_on=`` (a key) and ``max_attempts=`` the job."""

    def make(index: int, model_path: str | None = None, sequence: int | None = None, **job: Any) -> NewJob:
        spec = JobSpec(
            label=f"job {index}",
            model_path=model_path or f"/models/film{index}.hgx",
            settings=FitSettings(seed=index, max_time=60.0).to_dict(),
            data=[DataAssignment(0, f"/data/film{index}.dat")],
            sequence=sequence,
        )
        return NewJob(
            spec,
            model_sha256=hashlib.sha256(f"model {index}".encode()).hexdigest(),
            data_sha256=(hashlib.sha256(f"data {index}".encode()).hexdigest(),),
            **job,
        )

    return make


@pytest.fixture
def fit_result() -> FitResult:
    """A complete fit result, with an infinite FOM in its history (stored as null)."""
    fom = 0.0976
    settings = ResolvedSettings(
        seed=7, km=0.7, kr=0.7, population=20, strategy="best_1_bin", max_generations=1000,
        max_evaluations=None, max_time=60.0, tolerance=1e-4, window=100, min_spread=1e-3,
        genx_defaults=False, error_bars=True, extra={"note": "ünïcode Å"},
    )  # fmt: skip
    return FitResult(
        model_path="/models/film.hgx",
        fom_name="log",
        fom_start=1.5,
        fom=fom,
        parameters=[ParameterResult("cp.setD", 55.2, 50.0, 40.0, 60.0, -0.3, 0.4)],
        generations=321,
        evaluations=6420,
        wall_time=12.5,
        seed=7,
        settings=settings,
        stop_reason=StopReason.CONVERGED_FOM,
        fom_history=[1.5, math.inf, 0.2, fom],
        time_history=[0.0, 0.1, 0.2, 0.3],
        datasets=[DatasetCurve("Xray", True, [0.01, 0.02], [1.0, 0.5], [0.1, 0.05], [0.9, 0.6])],
        genx_version="3.8.13",
        metagenx_version="0.1.0",
    )
