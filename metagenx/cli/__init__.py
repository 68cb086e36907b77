"""Command-line interface. ``main`` is the console script; errors become one-line messages."""

from __future__ import annotations

import sys

import typer.main
from rich.markup import escape

from metagenx.cli import commands as _commands  # noqa: F401  (registers the commands)
from metagenx.cli.app import app, state
from metagenx.cli.console import make_console
from metagenx.cli.help_text import complete_help
from metagenx.errors import MetagenxError


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a :class:`MetagenxError` prints its message (no traceback) and exits non-zero."""
    try:
        complete_help(typer.main.get_command(app)).main(args=argv, prog_name="metagenx")
    except MetagenxError as exc:
        if state.debug:
            raise
        make_console(stderr=True, highlight=False).print(
            f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True
        )
        sys.exit(exc.exit_code)


__all__ = ["app", "main"]
