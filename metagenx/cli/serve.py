"""``metagenx serve`` (the HTTP server) and the account commands ``user`` and ``token``.

All three act on the same data directory and database: ``--data-dir`` / ``--db`` or
``METAGENX_DATA_DIR`` / ``METAGENX_DB`` (see :class:`metagenx.server.settings.Settings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metagenx.cli.app import ADMIN, SERVER, app
from metagenx.cli.console import make_console

if TYPE_CHECKING:
    from metagenx.server.settings import Settings
    from metagenx.store import Store

user_app = typer.Typer(help="Accounts of the HTTP server (same data directory as 'metagenx serve').")
token_app = typer.Typer(help="Bearer tokens of the HTTP server's users.")
app.add_typer(user_app, name="user", rich_help_panel=ADMIN)
app.add_typer(token_app, name="token", rich_help_panel=ADMIN)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory [env METAGENX_DATA_DIR; default ./metagenx-data]."),
]
Database = Annotated[
    str | None, typer.Option("--db", help="Database URL [env METAGENX_DB; default SQLite in the data dir].")
]


def settings_from(**flags: Any) -> Settings:
    """The server settings: flags given here, else ``METAGENX_*`` variables, else defaults."""
    from metagenx.server.settings import Settings

    return Settings(**{name: value for name, value in flags.items() if value is not None})


def open_accounts(data_dir: Path | None, db: str | None) -> Store:
    """The job store of the server's data directory (imported here: the CLI starts faster)."""
    from metagenx.store import open_store

    settings = settings_from(data_dir=data_dir, db=db)
    return open_store(settings.db, settings.data_dir)


LimitCpu = Annotated[
    float | None, typer.Option("--cpu-seconds", help="CPU time of one fit, s [server default 3600].")
]
LimitMemory = Annotated[
    float | None, typer.Option("--memory-gib", help="Memory of one fit, GiB [server default 4].")
]
LimitWall = Annotated[
    float | None, typer.Option("--wall-seconds", help="Wall time of one fit, s [server default 14400].")
]
LimitOutput = Annotated[
    float | None, typer.Option("--output-mib", help="Output one fit may write, MiB [server default 512].")
]


@app.command("serve", rich_help_panel=SERVER)
def serve_command(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port [default 8000].")] = None,
    db: Database = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", help="Fits at once [default: number of cores].")
    ] = None,
    data_dir: DataDir = None,
    max_upload_mb: Annotated[
        float | None, typer.Option("--max-upload-mb", help="Largest upload, MiB [default 50].")
    ] = None,
    max_running: Annotated[
        int | None, typer.Option("--max-running-per-user", help="Running fits per user [default: no limit].")
    ] = None,
    max_queued: Annotated[
        int | None, typer.Option("--max-queued-per-user", help="Queued jobs per user [default 10000].")
    ] = None,
    cpu_seconds: LimitCpu = None,
    memory_gib: LimitMemory = None,
    wall_seconds: LimitWall = None,
    output_mib: LimitOutput = None,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help="local: fit processes on this machine [default]; dask: the workers of a Dask cluster"
            " (they must see the data directory at the same path; sandboxed, they need bubblewrap and root).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address for --executor dask, e.g. tcp://HOST:8786."),
    ] = None,
    unsafe_no_sandbox: Annotated[
        bool,
        typer.Option(
            "--unsafe-no-sandbox",
            help="DANGEROUS: run uploaded models without the sandbox, with this server's rights."
            " Only for a server whose every user you trust.",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (docs at /docs) with the controller and fit workers embedded (or a Dask cluster's).

    Every fit runs in the sandbox (bubblewrap, its own uid, limits; see docs/security.md);
    the server checks it at start-up and prints what it found. Run the server as root.

    Every option also reads METAGENX_<OPTION> (e.g. METAGENX_PORT). Ctrl-C or SIGTERM
    stops cleanly: running fits are stopped and re-queued, and finish after a restart.
    """
    import uvicorn

    from metagenx.server import create_app
    from metagenx.store import list_users

    settings = settings_from(
        host=host,
        port=port,
        db=db,
        workers=workers,
        data_dir=data_dir,
        max_upload_mb=max_upload_mb,
        max_running_per_user=max_running,
        max_queued_per_user=max_queued,
        limit_cpu_seconds=cpu_seconds,
        limit_memory_gib=memory_gib,
        limit_wall_seconds=wall_seconds,
        limit_output_mib=output_mib,
        unsafe_no_sandbox=unsafe_no_sandbox or None,
        executor=executor,
        scheduler=scheduler,
    )
    console = make_console(stderr=True, highlight=False)
    with open_accounts(settings.data_dir, settings.db) as store, store.session() as session:
        users = list_users(session)
        console.print(f"metagenx: data in {settings.data_dir.resolve()}, job store {store.url}")
    if not users:
        console.print(
            "[yellow]no users yet:[/] add one: 'metagenx user add NAME', then 'metagenx token create NAME'"
        )
    console.print(f"metagenx: serving on http://{settings.host}:{settings.port} (API docs at /docs)")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
    )


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, '_', '.', '-').")],
    admin: Annotated[bool, typer.Option("--admin", help="May see and change every user's jobs.")] = False,
    max_running: Annotated[
        int | None, typer.Option("--max-running", help="This user's limit of running fits.")
    ] = None,
    max_queued: Annotated[
        int | None, typer.Option("--max-queued", help="This user's limit of queued jobs.")
    ] = None,
    cpu_seconds: LimitCpu = None,
    memory_gib: LimitMemory = None,
    wall_seconds: LimitWall = None,
    output_mib: LimitOutput = None,
    data_dir: DataDir = None,
    db: Database = None,
) -> None:
    """Create a user of the HTTP server; then give them a token with 'metagenx token create NAME'."""
    from metagenx.store import add_user

    with open_accounts(data_dir, db) as store, store.session() as session:
        limits = fit_limits(cpu_seconds, memory_gib, wall_seconds, output_mib)
        user = add_user(
            session, name, admin=admin, max_running=max_running, max_queued=max_queued, limits=limits
        )
    typer.echo(f"created {'admin' if user.is_admin else 'user'} {user.name}")


def fit_limits(
    cpu_seconds: float | None, memory_gib: float | None, wall_seconds: float | None, output_mib: float | None
) -> dict[str, float]:
    """A user's own sandbox limits (s and bytes), checked like the server's."""
    from metagenx.sandbox import Limits

    values = {
        "cpu_seconds": cpu_seconds,
        "memory_bytes": None if memory_gib is None else int(memory_gib * 1024**3),
        "wall_seconds": wall_seconds,
        "max_output_bytes": None if output_mib is None else int(output_mib * 1024**2),
    }
    chosen = {name: value for name, value in values.items() if value is not None}
    Limits().merged(chosen)  # raises SettingsError naming a bad value
    return chosen


@user_app.command("list")
def user_list(data_dir: DataDir = None, db: Database = None) -> None:
    """List the server's users."""
    from metagenx.store import list_users

    with open_accounts(data_dir, db) as store, store.session() as session:
        for user in list_users(session):
            limits = f"running ≤ {user.max_running}, " if user.max_running is not None else ""
            limits += f"queued ≤ {user.max_queued}" if user.max_queued is not None else ""
            typer.echo(f"{user.name}{' (admin)' if user.is_admin else ''}{'  ' + limits if limits else ''}")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="The user the token is for.")],
    data_dir: DataDir = None,
    db: Database = None,
) -> None:
    """Create a bearer token for user NAME; it is printed alone on the last line, and only once."""
    from metagenx.store import create_token

    with open_accounts(data_dir, db) as store, store.session() as session:
        token = create_token(session, name)
    typer.echo(f"token for {name} (shown only now; the server keeps only its hash):", err=True)
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The user whose token(s) to revoke.")],
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Only the token starting mgx_<PREFIX>_ (default: all).")
    ] = None,
    data_dir: DataDir = None,
    db: Database = None,
) -> None:
    """Revoke a user's tokens (a running server honours it within seconds)."""
    from metagenx.store import revoke_tokens

    with open_accounts(data_dir, db) as store, store.session() as session:
        count = revoke_tokens(session, name, prefix)
    typer.echo(f"revoked {count} token(s) of {name}")
