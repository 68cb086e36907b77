"""``metagenx info``: what a model file holds, without fitting it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from metagenx.cli.app import FITTING, app
from metagenx.cli.console import make_console
from metagenx.engine.model import GenxModel


def describe(model: GenxModel) -> dict[str, Any]:
    """A JSON-ready description of the model: file, parameters, data sets, FOM and optimizer settings."""
    return {
        "path": str(model.path),
        "format": model.format.value,
        "notes": model.notes,
        "fom_function": model.fom_name,
        "parameters": [vars(p) for p in model.parameters],
        "datasets": [vars(d) for d in model.datasets],
        "optimizer": model.optimizer_settings,
        "script_lines": len(model.script.splitlines()),
    }


@app.command("info", rich_help_panel=FITTING)
def info_command(
    model: Annotated[Path, typer.Argument(help="GenX model file (.hgx or .gx, GenX 2 or 3).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    script: Annotated[bool, typer.Option("--script", help="Also print the model script.")] = False,
) -> None:
    """Show a model's parameters, data sets, FOM function and optimizer settings without fitting."""
    loaded = GenxModel.load(model)
    description = describe(loaded)
    if as_json:
        if script:
            description["script"] = loaded.script
        typer.echo(json.dumps(description, indent=2, default=str))
        return
    console = make_console()
    console.print(f"[bold]{loaded.path.name}[/]  ({loaded.format.value}, FOM function {loaded.fom_name})")
    for note in loaded.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    params = Table("row", "parameter", "value", "fit", "min", "max", "error", title="Parameters")
    for p in loaded.parameters:
        params.add_row(
            str(p.row),
            p.name,
            f"{p.value:.6g}",
            "✓" if p.fit else "",
            f"{p.min:.6g}",
            f"{p.max:.6g}",
            p.error,
        )
    console.print(params)
    data = Table("#", "data set", "points", "used", title="Data sets")
    for d in loaded.datasets:
        data.add_row(str(d.index), d.name, str(d.points), "✓" if d.use else "")
    console.print(data)
    opt = Table("setting", "value", title="GenX optimizer settings (from the file)")
    for name, value in description["optimizer"].items():
        opt.add_row(name, str(value))
    console.print(opt)
    if script:
        console.print(loaded.script, highlight=False, markup=False)
