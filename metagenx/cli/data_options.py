"""Options shared by the commands that fit data files with a template (``batch``, ``watch``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataSet = Annotated[
    str,
    typer.Option("--data-set", "--dataset", help="Data set of the template to load into (index or name)."),
]
Sequential = Annotated[
    bool, typer.Option("--sequential", help="Start each fit from the previous file's fitted values.")
]
Loader = Annotated[str, typer.Option("--loader", help="GenX data loader (auto, default, orso, resolution…).")]
OutDir = Annotated[Path | None, typer.Option("--out-dir", "-o", help="Output folder (default: here).")]


def dataset_key(text: str) -> int | str:
    """A data set given on the command line: an index when it is a number, else a name."""
    return int(text) if text.isdigit() else text
