"""The ``metagenx`` command: one Typer app, each command in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="metagenx",
    help="Run GenX reflectivity fits headless, many at a time, fast and unattended.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


FITTING = "Fitting one model"
MANY_FITS = "Many fits"
SERVER = "Server and cluster"
ADMIN = "Administration"
"""The groups the commands are listed in by ``metagenx --help``, in this order."""


class CliState:
    """Options of the whole command line (before the command name)."""

    debug: bool = False


state = CliState()


def show_version(wanted: bool) -> None:
    """Print the versions of metagenx, GenX and Python, then exit."""
    if wanted:
        import importlib.metadata
        import platform

        from metagenx.version import __version__

        genx = importlib.metadata.version("genx3server")
        typer.echo(f"metagenx {__version__} (GenX {genx}, Python {platform.python_version()})")
        raise typer.Exit()


@app.callback(
    epilog="Exit codes: 0 done; 1 the work failed (a fit, the server, an output that cannot be "
    "written); 2 a wrong command line, setting or input file; 130 interrupted."
)
def root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of any error."),
    version: bool = typer.Option(
        False,
        "--version",
        help="Show the versions of metagenx, GenX and Python.",
        is_eager=True,
        callback=show_version,
    ),
) -> None:
    """Run GenX reflectivity fits headless, many at a time, fast and unattended."""
    del version  # handled by its callback
    state.debug = debug
