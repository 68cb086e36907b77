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


class CliState:
    """Options of the whole command line (before the command name)."""

    debug: bool = False


state = CliState()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of any error."),
) -> None:
    """Run GenX reflectivity fits headless, many at a time, fast and unattended."""
    state.debug = debug
