"""``metagenx db check`` and ``metagenx db backup``: the job store's health and a safe copy of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from metagenx.cli.app import ADMIN, app
from metagenx.cli.serve import Database, DataDir, settings_from

db_app = typer.Typer(help="The job store: check it for damage, copy it safely while it is in use.")
app.add_typer(db_app, name="db", rich_help_panel=ADMIN)

Where = Annotated[
    Path | None,
    typer.Argument(help="A study folder or a .db file (default: the server's data directory)."),
]


def store_url(where: Path | None, data_dir: Path | None, db: str | None) -> tuple[str | None, Path]:
    """The database URL and data directory that ``where`` (or the server's options) name."""
    if where is not None:
        file = where / "metagenx.db" if where.is_dir() else where
        if not file.is_file():
            raise typer.BadParameter(f"{file} is not a job database", param_hint="PATH")
        return f"sqlite:///{file.resolve()}", file.parent
    settings = settings_from(data_dir=data_dir, db=db)
    return settings.db, settings.data_dir


@db_app.command("check")
def check(where: Where = None, data_dir: DataDir = None, db: Database = None) -> None:
    """Read the whole job store (SQLite: PRAGMA quick_check and every table); exit 1 if damaged."""
    from metagenx.store import open_store
    from metagenx.store.errors import StoreError
    from metagenx.store.health import check_store

    url, folder = store_url(where, data_dir, db)
    try:
        store = open_store(url, folder, migrate=False)
    except StoreError as error:
        typer.echo(f"damaged or unreadable: {error}", err=True)
        raise typer.Exit(1) from None
    with store:
        health = check_store(store, thorough=True)
    if not health.ok:
        typer.echo(health.describe(), err=True)
        raise typer.Exit(1)
    typer.echo(f"{store.url}: sound (every table read)")


@db_app.command("backup")
def backup(
    target: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
    where: Where = None,
    data_dir: DataDir = None,
    db: Database = None,
) -> None:
    """Copy a SQLite job store safely, also while a server uses it (SQLite's online backup)."""
    from metagenx.store import open_store
    from metagenx.store.health import backup_store

    url, folder = store_url(where, data_dir, db)
    with open_store(url, folder, migrate=False) as store:
        written = backup_store(store, target)
    typer.echo(f"wrote {written}; restore it by putting it in place of the store while metagenx is stopped")
