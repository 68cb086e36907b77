"""The few SQL constructs that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from metagenx.store.errors import StoreError
from metagenx.store.models import Base


def dialect_name(session: Session) -> str:
    """``sqlite`` or ``postgresql``: the backend ``session`` talks to."""
    return session.get_bind().dialect.name


def insert_ignoring_conflicts(session: Session, model: type[Base], unique: Sequence[str]) -> Executable:
    """``INSERT … ON CONFLICT (unique) DO NOTHING`` for ``model``: safe when another session
    inserts the same row at the same time (execute it with a list of rows)."""
    name = dialect_name(session)
    if name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=list(unique))
    if name == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing(index_elements=list(unique))
    raise StoreError(f"the job store supports SQLite and PostgreSQL, not {name}")
