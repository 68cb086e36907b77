"""Is the job store sound? Real checks (not ``SELECT 1``), a backup, and words for people.

:func:`check_store` reads every table (a damaged page of SQLite shows when it is read) and, when
``thorough``, runs SQLite's ``PRAGMA quick_check`` over the whole file; PostgreSQL answers real
queries. :func:`backup_store` copies a SQLite store with SQLite's online backup (safe while a
server writes to it); PostgreSQL has ``pg_dump`` for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from metagenx.store.db import Store
from metagenx.store.errors import StoreError

TABLES = ("projects", "studies", "jobs", "events", "artifacts", "users", "tokens")
WHAT_TO_DO = (
    "stop metagenx, keep a copy of the damaged file, and restore the last backup "
    "(metagenx db backup makes one); 'metagenx db check' tells when the store is sound again"
)


@dataclass(frozen=True)
class StoreHealth:
    """``ok``, or what is wrong (``problem``) and what to do about it (``advice``)."""

    ok: bool
    problem: str = ""
    advice: str = ""

    def describe(self) -> str:
        return "ok" if self.ok else f"{self.problem}; {self.advice}"


def check_store(store: Store, *, thorough: bool = False) -> StoreHealth:
    """Read every table of ``store`` (and, ``thorough`` on SQLite, check the whole file)."""
    try:
        with store.engine.connect() as connection:
            if thorough and store.dialect == "sqlite":
                rows = [str(row[0]) for row in connection.execute(text("PRAGMA quick_check(5)"))]
                if rows != ["ok"]:
                    return StoreHealth(False, f"the job database is damaged: {'; '.join(rows)}", WHAT_TO_DO)
            for table in TABLES:
                connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    except DBAPIError as error:
        reason = " ".join(str(error.orig or error).split())[:300]
        if "malformed" in reason or "not a database" in reason or "corrupt" in reason:
            return StoreHealth(False, f"the job database is damaged: {reason}", WHAT_TO_DO)
        return StoreHealth(
            False,
            f"the job database cannot be read: {reason}",
            "check that the database (server) is up and its disk is sound",
        )
    except SQLAlchemyError as error:
        return StoreHealth(False, f"the job database cannot be read: {error}", "see the server's log")
    return StoreHealth(True)


def backup_store(store: Store, target: Path) -> Path:
    """Copy a SQLite store to ``target`` with SQLite's online backup; :class:`StoreError` otherwise."""
    if store.dialect != "sqlite":
        raise StoreError(
            f"{store.url} is a {store.dialect} database: back it up with its own tool "
            "(PostgreSQL: pg_dump -Fc DBNAME > metagenx.dump)"
        )
    if target.exists():
        raise StoreError(f"{target} exists already; choose a new file for the backup")
    target.parent.mkdir(parents=True, exist_ok=True)
    import sqlite3

    raw = store.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        with sqlite3.connect(target) as copy:
            source.backup(copy)
        copy.close()
    except sqlite3.Error as error:
        target.unlink(missing_ok=True)
        raise StoreError(f"the backup to {target} failed: {error}") from None
    finally:
        raw.close()
    target.chmod(0o600)
    return target
