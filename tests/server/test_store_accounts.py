"""Users, tokens and per-owner claiming in the job store, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select

from metagenx.jobs import JobSpec
from metagenx.store import (
    NewJob,
    Store,
    StoreError,
    StudyKind,
    Token,
    add_jobs,
    add_user,
    authenticate,
    claim_next,
    create_token,
    ensure_project,
    ensure_study,
    open_store,
    revoke_tokens,
)
from metagenx.store.db import head_revision
from metagenx.store.models import Base
from tests.store.conftest import pg_schema, pg_server_url  # noqa: F401


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'metagenx.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_server_url")) as url:
        yield url


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(db_url, tmp_path)
    yield opened
    opened.close()


def test_tokens_are_stored_hashed_and_checked(store: Store) -> None:
    with store.session() as session:
        add_user(session, "alice", max_queued=5)
        token = create_token(session, "alice")
    scheme, prefix, secret = token.split("_", 2)
    assert scheme == "mgx" and len(prefix) == 12 and len(secret) >= 40
    with store.session() as session:
        row = session.execute(select(Token)).scalar_one()
        assert row.prefix == prefix and token not in (row.sha256, row.prefix) and row.last_used_at is None
        found = authenticate(session, token)
        assert found is not None and found[0].name == "alice" and found[0].max_queued == 5
    with store.session() as session:
        assert session.execute(select(Token)).scalar_one().last_used_at is not None
        assert authenticate(session, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert authenticate(session, f"mgx_{'0' * 12}_{secret}") is None
        assert authenticate(session, "not a token") is None
        assert revoke_tokens(session, "alice") == 1
    with store.session() as session:
        assert authenticate(session, token) is None


def test_user_names_are_unique_and_safe(store: Store) -> None:
    with store.session() as session:
        add_user(session, "alice")
    with pytest.raises(StoreError, match="exists already"), store.session() as session:
        add_user(session, "alice")
    with pytest.raises(StoreError, match="not allowed"), store.session() as session:
        add_user(session, "../root")
    with pytest.raises(StoreError, match="no user 'carol'"), store.session() as session:
        create_token(session, "carol")


def test_claiming_skips_excluded_owners(store: Store) -> None:
    with store.session() as session:
        for index, owner in enumerate(("alice", "alice", "bob")):
            project = ensure_project(session, "p", owner)
            study = ensure_study(session, project, f"s{index}", StudyKind.FIT)
            spec = JobSpec(label="fit", model_path="/m.hgx", settings={"seed": index})
            add_jobs(session, study, [NewJob(spec, model_sha256="0" * 64)])
    with store.session() as session:
        first = claim_next(session, None, "w", exclude_owners={"alice"})
        assert first is not None and first.owner == "bob"
        assert claim_next(session, None, "w", exclude_owners={"alice", "bob"}) is None
        second = claim_next(session, None, "w")
        assert second is not None and second.owner == "alice"


def test_the_accounts_migration_creates_what_the_models_describe(store: Store, tmp_path: Path) -> None:
    with store.engine.connect() as connection:
        assert head_revision() == "0004"
        migrated = describe(connection)
    reference = create_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    if store.dialect == "postgresql":
        reference = store.engine
        with reference.begin() as connection:
            for table in ("tokens", "users"):
                Base.metadata.tables[table].drop(connection)
            Base.metadata.create_all(
                connection, tables=[Base.metadata.tables["users"], Base.metadata.tables["tokens"]]
            )
            assert describe(connection) == migrated
        return
    with reference.begin() as connection:
        Base.metadata.create_all(connection)
        assert describe(connection) == migrated
    reference.dispose()


def describe(connection: object) -> dict[str, object]:
    inspector = inspect(connection)
    return {
        table: {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "fks": sorted(
                (f["name"], f["referred_table"], f["options"].get("ondelete"))
                for f in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
            ),
            "pk": inspector.get_pk_constraint(table)["name"],
        }
        for table in ("users", "tokens")
    }
