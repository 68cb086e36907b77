"""``metagenx examples``: list or copy GenX's bundled example models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from metagenx.cli.app import FITTING, app
from metagenx.cli.console import make_console
from metagenx.examples import copy_example, list_examples


@app.command("examples", rich_help_panel=FITTING)
def examples_command(
    action: Annotated[str, typer.Argument(help="'list' the examples, or 'copy' one.")] = "list",
    name: Annotated[str | None, typer.Argument(help="Example to copy, e.g. X-ray_Reflectivity.hgx.")] = None,
    destination: Annotated[Path, typer.Argument(help="Folder (or file name) to copy it to.")] = Path("."),
) -> None:
    """List GenX's bundled example models, or copy one: `metagenx examples copy X-ray_Reflectivity.hgx .`"""
    console = make_console()
    if action == "list":
        table = Table("example", "size", title="GenX example models")
        for path in list_examples():
            table.add_row(path.name, f"{path.stat().st_size / 1024:.0f} KiB")
        console.print(table)
        return
    if action != "copy" or not name:
        raise typer.BadParameter("use 'metagenx examples list' or 'metagenx examples copy NAME [DEST]'")
    target = copy_example(name, destination)
    console.print(f"copied {name} to {target}")
