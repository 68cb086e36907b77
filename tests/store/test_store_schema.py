"""Opening the store: URLs, migrations to head, no drift between models and migrations, SQLite pragmas."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, Integer, MetaData, create_engine, inspect, text

from metagenx.store import Store, StoreError, open_store, resolve_url
from metagenx.store.db import current_revision, head_revision
from metagenx.store.models import Base

TABLES = {"projects", "studies", "jobs", "events", "artifacts", "users", "tokens"}


def test_migrations_create_the_schema_at_head(store: Store) -> None:
    with store.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert current_revision(connection) == head_revision() == "0003"
    assert tables == TABLES | {"alembic_version"}


def test_models_and_migrations_do_not_drift(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_drift_check_would_see_a_missing_column(store: Store) -> None:
    """The drift test above is not vacuous: a model column without a migration shows up."""
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["jobs"].append_column(Column("priority", Integer))
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), changed)
    assert [d[0] for d in differences] == ["add_column"]


def test_migrated_schema_equals_the_models_ddl(store: Store, spare_db_url: str) -> None:
    """Constraints Alembic does not compare (CHECKs, names of FKs) match what the models create."""
    with store.engine.connect() as connection:
        migrated = reflect(connection)
    reference = create_engine(spare_db_url)
    try:
        with reference.begin() as connection:
            Base.metadata.create_all(connection)
            created = reflect(connection)
    finally:
        reference.dispose()
    assert migrated == created


def reflect(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    schema: dict[str, Any] = {}
    for table in sorted(TABLES):
        schema[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "checks": sorted(
                (c["name"], normalize(c["sqltext"])) for c in inspector.get_check_constraints(table)
            ),
            "fks": sorted(
                (
                    f["name"],
                    tuple(f["constrained_columns"]),
                    f["referred_table"],
                    f["options"].get("ondelete"),
                )
                for f in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
            ),
            "pk": inspector.get_pk_constraint(table)["name"],
        }
    return schema


def normalize(sql: str) -> str:
    return " ".join(sql.replace("(", " ").replace(")", " ").split())


def test_opening_again_is_a_no_op(db_url: str, store: Store, tmp_path: Path) -> None:
    again = open_store(db_url, tmp_path)
    try:
        with again.engine.connect() as connection:
            assert current_revision(connection) == head_revision()
    finally:
        again.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    with open_store(None, tmp_path) as store, store.engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000, "synchronous": 1}
    assert (tmp_path / "metagenx.db").is_file()


def test_openers_racing_on_a_new_sqlite_file(tmp_path: Path) -> None:
    """The write lock taken before migrating keeps two openers from both creating the tables."""
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def open_it() -> None:
        barrier.wait()
        try:
            open_store(None, tmp_path / "data").close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_default_url_env_var_and_postgres_driver(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("METAGENX_DB", raising=False)
    assert resolve_url(None, tmp_path).database == str(tmp_path / "metagenx.db")
    monkeypatch.setenv("METAGENX_DB", "postgresql://alice@db.example/jobs")
    assert resolve_url(None, tmp_path).drivername == "postgresql+psycopg"
    assert resolve_url("sqlite:////x/y.db", tmp_path).database == "/x/y.db"
    assert resolve_url("postgres://bob@h/d", tmp_path).drivername == "postgresql+psycopg"


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://alice:s3cret@127.0.0.1:1/jobs", tmp_path)
    message = str(caught.value)
    assert "s3cret" not in message
    assert "postgresql+psycopg://alice:***@127.0.0.1:1/jobs" in message
    assert "METAGENX_DB" in message


def test_unusable_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot understand the database URL"):
        open_store("not a url", tmp_path)
    with pytest.raises(StoreError, match="supported are sqlite"):
        open_store("mysql+nodriver://u@h/d", tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match="cannot create the directory"):
        open_store(f"sqlite:///{tmp_path / 'file' / 'sub' / 'x.db'}", tmp_path)


def test_database_from_a_newer_metagenx_is_refused(db_url: str, store: Store, tmp_path: Path) -> None:
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="newer metagenx"):
        open_store(db_url, tmp_path)
