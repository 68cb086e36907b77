"""Tune studies live in the project's database, beside (never inside) the job store's own tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from metagenx.solve.tune_storage import SCHEMA, open_tune_storage
from metagenx.store import open_store

ROLES = ("postgres", "root")


def quadratic(trial: optuna.Trial) -> float:
    return (trial.suggest_float("x", -1, 1) - 0.3) ** 2


def test_sqlite_store_keeps_the_study_in_a_sibling_file_and_resumes_it(tmp_path: Path) -> None:
    store = open_store(None, tmp_path)
    try:
        first = optuna.create_study(storage=open_tune_storage(store), study_name="s", load_if_exists=True)
        first.optimize(quadratic, n_trials=2)
        again = optuna.create_study(storage=open_tune_storage(store), study_name="s", load_if_exists=True)
        again.optimize(quadratic, n_trials=1)
        assert len(again.trials) == 3
        assert "studies" in inspect(store.engine).get_table_names(), "the job store is untouched"
    finally:
        store.close()
    assert (tmp_path / "metagenx-optuna.db").is_file()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database on the local test server (skipped when there is none)."""
    for role in ROLES:
        admin = create_engine(
            f"postgresql+psycopg://{role}@127.0.0.1:5432/test",
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 5},
        )
        try:
            with admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError:
            admin.dispose()
            continue
        name = f"mgx_tune_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"postgresql://{role}@127.0.0.1:5432/{name}"
        finally:
            with admin.connect() as connection:
                connection.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name},
                )
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
        return
    pytest.skip("no PostgreSQL test server on 127.0.0.1:5432")


def test_postgresql_store_keeps_the_study_in_its_own_schema(pg_database: str, tmp_path: Path) -> None:
    store = open_store(pg_database, tmp_path)
    try:
        storage = open_tune_storage(store)
        optuna.create_study(storage=storage, study_name="s").optimize(quadratic, n_trials=2)
        resumed = optuna.load_study(study_name="s", storage=open_tune_storage(store))
        assert len(resumed.trials) == 2
        tables = inspect(store.engine)
        assert "trials" in tables.get_table_names(schema=SCHEMA)
        assert "trials" not in tables.get_table_names(), "Optuna's tables stay out of the store's schema"
    finally:
        store.close()
