"""Where tune studies live: beside the job store, in the project's database.

Optuna's tables (``studies``, ``trials``, …) and its ``alembic_version`` row clash with the
job store's own ``studies`` table and schema version, so they cannot share one namespace:

* SQLite store ``…/metagenx.db`` → Optuna in the sibling file ``…/metagenx-optuna.db``;
* PostgreSQL store → the same database, schema ``metagenx_optuna`` (created if missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from metagenx.store import Store
from metagenx.store.errors import StoreError

SCHEMA = "metagenx_optuna"
SQLITE_SUFFIX = "-optuna"


def open_tune_storage(store: Store) -> Any:
    """An Optuna RDB storage in the project's database of ``store``; raise :class:`StoreError`."""
    import optuna

    url = store.engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise StoreError("tune needs a database file or server, not an in-memory SQLite store")
        path = Path(database)
        target = path.with_name(f"{path.stem}{SQLITE_SUFFIX}{path.suffix or '.db'}")
        return optuna.storages.RDBStorage(
            f"sqlite:///{target}", engine_kwargs={"connect_args": {"timeout": 30}}
        )
    if backend == "postgresql":
        with store.engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
        return optuna.storages.RDBStorage(
            url.render_as_string(hide_password=False),
            engine_kwargs={"connect_args": {"options": f"-csearch_path={SCHEMA}"}, "pool_pre_ping": True},
        )
    raise StoreError(f"tune cannot keep its study in a {backend} database; use SQLite or PostgreSQL")
