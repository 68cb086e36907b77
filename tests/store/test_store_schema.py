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
        assert current_revision(connection) == head_revision() == "0002"
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
