"""``metagenx convert``: rewrite a model file (e.g. a GenX 2 ``.gx``) as GenX 3 ``.hgx`` or ``.gx``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from metagenx.cli.app import FITTING, app
from metagenx.cli.console import make_console
from metagenx.engine.files import ModelFormat, check_writable
from metagenx.engine.model import GenxModel
from metagenx.errors import OutputError


@app.command("convert", rich_help_panel=FITTING)
def convert_command(
    source: Annotated[Path, typer.Argument(help="Model file to read (.gx from GenX 2 or 3, or .hgx).")],
    target: Annotated[Path, typer.Argument(help="File to write: .hgx (HDF5) or .gx (GenX 3 zip layout).")],
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Reload the written file, compare grid and data exactly, simulate and report the FOM.",
        ),
    ] = True,
    force: Annotated[bool, typer.Option("--force", help="Overwrite TARGET if it exists.")] = False,
    replace_source: Annotated[
        bool,
        typer.Option("--replace-source", help="Allow TARGET to be SOURCE itself (replaces your original)."),
    ] = False,
) -> None:
    """Convert a GenX model file, e.g. a GenX 2 .gx, to a GenX 3 .hgx that the GenX 3 GUI opens.

    The source is read safely (no pickle code runs) and never modified unless
    --replace-source is given. Old scripts are mended where that is mechanical; every
    change is printed. With --check (default) the new file is written only if its
    parameter grid and data equal the originals exactly. --check runs the model's
    script (to simulate): use it on files you trust, or pass --no-check.
    """
    console = make_console(highlight=False)
    destination = check_target(source, target, force=force, replace_source=replace_source)
    model = GenxModel.load(source)
    for note in model.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    staging = destination.with_name(f".{destination.stem}.converting-{os.getpid()}{destination.suffix}")
    try:
        model.save(staging)
        if check:
            run_check(console, model, staging)
        os.replace(staging, destination)
    finally:
        staging.unlink(missing_ok=True)
    console.print(f"wrote {destination}")


def check_target(source: Path, target: Path, *, force: bool, replace_source: bool) -> Path:
    """The path to write, after refusing to replace the source or an existing file unless asked."""
    if target.suffix.lower() not in (".hgx", ".gx"):
        raise OutputError(f"{target.name}: the converted file must end in .hgx or .gx")
    destination = check_writable(target)
    if destination.exists() and source.exists() and destination.resolve() == source.resolve():
        if not replace_source:
            raise OutputError(
                f"{target} is the file being converted; pass --replace-source to replace it, "
                "or choose another name"
            )
    elif destination.exists() and not force:
        raise OutputError(f"{target} exists; pass --force to overwrite it")
    return destination


def run_check(console: Console, model: GenxModel, written: Path) -> None:
    """Compare ``written`` with ``model`` as read; raise :class:`OutputError` if grid or data differ."""
    from metagenx.engine.gx import read_gx
    from metagenx.engine.gx.fidelity import check_fidelity

    stored = read_gx(model.path) if model.format is ModelFormat.GX else None
    report = check_fidelity(model, written, stored)
    for line in report.lines():
        console.print(f"check: {escape(line)}")
    if not report.faithful:
        raise OutputError(
            f"the converted file differs from {model.path.name} ({'; '.join(report.differences)}); "
            "nothing was written"
        )
