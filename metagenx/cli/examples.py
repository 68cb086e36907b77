"""``metagenx examples``: list or copy GenX's bundled example models."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from metagenx.cli.app import app
from metagenx.examples import copy_example, list_examples


@app.command("examples")
def examples_command(
    action: str = typer.Argument("list", help="'list' the examples, or 'copy' one."),
    name: str = typer.Argument(None, help="Example to copy, e.g. X-ray_Reflectivity.hgx."),
    destination: Path = typer.Argument(Path("."), help="Folder (or file name) to copy it to."),
) -> None:
    """List GenX's bundled example models, or copy one to fit it: `metagenx examples copy X-ray_Reflectivity.hgx .`"""
    console = Console()
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
