"""Opening the job store: choose the database, connect, bring its schema up to date.

The default is a SQLite file ``metagenx.db`` in the data directory (WAL mode, foreign keys
on). A PostgreSQL URL (``--db postgresql://user@host/db`` or the ``METAGENX_DB``
environment variable) works the same. Opening runs the Alembic migrations in
``metagenx/store/migrations`` up to the newest revision, so a store is always current.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import zlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from metagenx.engine.result import finite_or_none
from metagenx.store.errors import StoreError

ENV_VAR = "METAGENX_DB"
DEFAULT_FILENAME = "metagenx.db"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
# Serializes concurrent schema upgrades of one PostgreSQL database (any stable 63-bit number).
_PG_MIGRATION_LOCK = zlib.crc32(b"metagenx.store.migrations")
_HINT = f"check the URL (--db or {ENV_VAR}) and that the database server is running and accepts you"


class Store:
    """An open job store: an engine and a session factory.

    Use :meth:`session` for a unit of work; the store functions
    (:mod:`metagenx.store.jobs`, ...) only flush, the session commits on leaving the block.
    Objects stay usable after their session closed (``expire_on_commit=False``).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return describe_url(self.engine.url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def session(self) -> AbstractContextManager[Session]:
        """A session in a transaction: committed when the block ends, rolled back on an exception."""
        return self.sessions.begin()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def resolve_url(url: str | None, data_dir: Path) -> URL:
    """The database URL to use: ``url``, else ``$METAGENX_DB``, else ``sqlite:///<data_dir>/metagenx.db``.

    ``postgresql://`` and ``postgres://`` URLs get the psycopg (3) driver.
    """
    text_url = url or os.environ.get(ENV_VAR) or f"sqlite:///{Path(data_dir) / DEFAULT_FILENAME}"
    for prefix in ("postgresql://", "postgres://"):
        if text_url.startswith(prefix):
            text_url = "postgresql+psycopg://" + text_url[len(prefix) :]
    try:
        return make_url(text_url)
    except ArgumentError as error:
        raise StoreError(
            f"cannot understand the database URL {_strip_password(text_url)!r}: expected e.g. "
            f"sqlite:////path/to/metagenx.db or postgresql://user@host:5432/dbname ({error})"
        ) from None


def describe_url(url: URL | str) -> str:
    """The URL as text with any password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)


def open_store(url: str | None, data_dir: Path, *, migrate: bool = True) -> Store:
    """Open (and create, or upgrade to the newest schema) the job store.

    Raises :class:`StoreError` naming the URL (without its password) when the database
    cannot be reached, or was written by a newer metagenx.
    """
    resolved = resolve_url(url, data_dir)
    engine = _create_engine(resolved)
    try:
        with engine.connect() as connection:
            if migrate:
                _upgrade(connection)
            else:
                connection.execute(text("SELECT 1"))
            damage = _sqlite_damage(connection)
    except DBAPIError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
        raise StoreError(
            f"cannot open the job database {describe_url(resolved)}: {reason}; {_HINT}"
        ) from None
    except CommandError as error:
        engine.dispose()
        raise StoreError(
            f"the job database {describe_url(resolved)} has a schema this metagenx does not know "
            f"({error}); it was probably written by a newer metagenx: upgrade metagenx"
        ) from None
    if damage is not None:
        engine.dispose()
        raise StoreError(
            f"the job database {describe_url(resolved)} is damaged ({damage}): stop metagenx, keep a "
            "copy of the file, and restore the last backup (metagenx db backup makes one)"
        )
    return Store(engine)


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for the store's migrations, built in code (no ``alembic.ini``).

    With ``connection``, migrations run on it; otherwise on ``url``. Developers create a
    new revision with e.g.
    ``alembic.command.revision(alembic_config(url="sqlite:////tmp/dev.db"), "add x", autogenerate=True)``
    after upgrading that database to head.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest schema revision this metagenx knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The schema revision of the database behind ``connection`` (None when empty)."""
    return MigrationContext.configure(connection).get_current_revision()


def _sqlite_damage(connection: Connection) -> str | None:
    """SQLite's own check of the whole file (``PRAGMA quick_check``): None when sound."""
    if connection.dialect.name != "sqlite":
        return None
    rows = [str(row[0]) for row in connection.execute(text("PRAGMA quick_check(3)"))]
    connection.rollback()
    return None if rows == ["ok"] else "; ".join(rows)


def _upgrade(connection: Connection) -> None:
    """Migrate to head, one process at a time; cheap when the schema is current."""
    if current_revision(connection) == head_revision():
        connection.rollback()
        return
    connection.rollback()
    if connection.dialect.name == "sqlite":
        # Take SQLite's write lock before reading the version, so that two processes
        # opening a new file at once do not both create the tables.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    command.upgrade(alembic_config(connection), "head")
    connection.commit()


def _create_engine(url: URL) -> Engine:
    options: dict[str, Any] = {"json_serializer": _json_dumps, "pool_pre_ping": True}
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(
                    f"cannot create the directory of the job database {database}: {error.strerror}"
                ) from None
    elif backend == "postgresql" and "connect_timeout" not in url.query:
        options["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(url, **options)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise StoreError(
            f"cannot use the database URL {describe_url(url)}: {error}; "
            "supported are sqlite:///path and postgresql://user@host/db"
        ) from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL (readers never block the writer), enforced foreign keys, wait on locks instead of failing."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """WAL mode is stored in the file; switching a new file over can fail with "database is
    locked" without waiting (SQLite skips its busy handler there) when another process
    switches it at the same moment: retry until the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _json_dumps(value: Any) -> str:
    """Strict JSON as everywhere in metagenx: NaN and ±inf become null (PostgreSQL rejects them)."""
    return json.dumps(finite_or_none(value), allow_nan=False)


def _strip_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
