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
        assert current_revision(connection) == head_revision() == "0004"
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


def test_the_typed_jobs_migration_converts_stored_jobs_and_keeps_their_keys(db_url: str) -> None:
    """Jobs stored before kind/label/axes/data had columns are converted; a study submitted again
    finds them (their content keys do not change)."""
    import json as json_module

    from alembic import command

    from metagenx.jobs import DataAssignment, JobKind, JobSpec, ParameterOverride
    from metagenx.store import Job, NewJob, job_key
    from metagenx.store.db import alembic_config

    old_overrides = {
        "label": "T300.dat",
        "axes": {"data_file": "T300.dat", "order_value": 300.0},
        "data": [{"dataset": 0, "loader": "auto", "loader_options": {"x_col": 0}}],
        "parameters": [{"name": "SiO.setD", "value": 1200.0, "fit": None, "min": None, "max": None}],
    }
    settings = {"seed": 3, "max_generations": 5}
    key = job_key("m" * 64, ["d" * 64], settings, 3, old_overrides)
    engine = create_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
        connection.execute(
            text("INSERT INTO projects (id, name, owner, created_at) VALUES (1, 'p', 'local', '2026-01-01')")
        )
        for study_id, kind in ((1, "batch"), (2, "tune")):
            connection.execute(
                text(
                    "INSERT INTO studies (id, project_id, name, kind, definition, state, created_at) "
                    f"VALUES ({study_id}, 1, 's{study_id}', '{kind}', '{{}}', 'active', '2026-01-01')"
                )
            )
        for job_id, study_id, job_settings in (
            (1, 1, settings),
            (2, 1, {**settings, "solve": {}}),
            (3, 2, {}),
        ):
            connection.execute(
                text(
                    "INSERT INTO jobs (id, study_id, project_id, owner, key, model_path, model_sha256,"
                    " data_paths, data_sha256, overrides, settings, seed, state, attempts, max_attempts,"
                    " interruptions, runs, queued_at) VALUES (:id, :study, 1, 'local', :key, '/m.hgx', :m,"
                    " :paths, :shas, :overrides, :settings, 3, 'queued', 0, 2, 0, 0, '2026-01-01')"
                ),
                {
                    "id": job_id,
                    "study": study_id,
                    "key": key if job_id == 1 else f"{job_id}" * 64,
                    "m": "m" * 64,
                    "paths": json_module.dumps(["/d/T300.dat"]),
                    "shas": json_module.dumps(["d" * 64]),
                    "overrides": json_module.dumps(old_overrides),
                    "settings": json_module.dumps(job_settings),
                },
            )
    engine.dispose()
    with open_store(db_url, Path(".")) as store, store.session() as session:
        jobs = {job.id: job for job in session.query(Job)}
        first = jobs[1]
        assert (first.kind, first.label, first.axes) == (JobKind.FIT, "T300.dat", old_overrides["axes"])
        assert first.data == old_overrides["data"] and first.overrides == old_overrides["parameters"]
        assert jobs[2].kind is JobKind.SOLVE and jobs[3].kind is JobKind.TUNE
        spec = JobSpec(
            label="T300.dat",
            model_path="/elsewhere/m.hgx",
            settings=settings,
            data=[DataAssignment(0, "/d/T300.dat", "auto", {"x_col": 0})],
            overrides=[ParameterOverride("SiO.setD", value=1200.0)],
            axes=old_overrides["axes"],
        )
        assert NewJob(spec, "m" * 64, ["d" * 64]).key == first.key, "submitted again, it is the same job"
