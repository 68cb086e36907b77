"""Alembic environment of the job store.

:func:`metagenx.store.db.open_store` runs the migrations on its own connection (passed
in ``config.attributes["connection"]``); developers may instead give a URL as the
``sqlalchemy.url`` option (see :func:`metagenx.store.db.alembic_config`). Offline mode
prints the SQL for a database administrator.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from metagenx.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    """Run the pending migrations on ``connection``."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Entry point Alembic calls: offline SQL, a given connection, or a URL."""
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection to run the metagenx store migrations")
    engine = create_engine(url)
    try:
        with engine.connect() as own_connection:
            run_on(own_connection)
            own_connection.commit()
    finally:
        engine.dispose()


main()
