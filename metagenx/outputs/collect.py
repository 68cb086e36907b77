"""Find a finished job's output files under their fixed names, trusting nothing about the folder.

A fit's files are never named by the process that wrote them (a model's script runs there and can
write anything): the controller looks in the job's own folder for the names metagenx writes
(:data:`FIT_OUTPUTS`, :data:`TUNE_OUTPUTS`, and the fitted model's own name) and keeps only plain
files with one link, no larger than the output limit. Anything else (a symlink to ``/etc/shadow``,
a hard link to another user's file, a fifo, a 10 GB file) is refused and reported.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from metagenx.outputs.names import (
    BAND_PNG,
    BAND_SVG,
    CORNER_PNG,
    CORNER_SVG,
    FIT_ORT,
    FIT_PNG,
    FIT_SVG,
    FOM_PNG,
    FOM_SVG,
    PARAMETERS_CSV,
    POSTERIOR_DRAWS_CSV,
    RESULT_JSON,
    SOLVE_JSON,
)

FIT_OUTPUTS = {
    "result_json": RESULT_JSON,
    "parameters_csv": PARAMETERS_CSV,
    "fit_png": FIT_PNG,
    "fom_png": FOM_PNG,
    "fit_svg": FIT_SVG,
    "fom_svg": FOM_SVG,
    "orso": FIT_ORT,
    "solve_json": SOLVE_JSON,
}
"""Artifact kind → file name of what a fit (or a solve) writes beside its fitted model."""
POSTERIOR_OUTPUTS = {
    "corner_png": CORNER_PNG,
    "corner_svg": CORNER_SVG,
    "band_png": BAND_PNG,
    "band_svg": BAND_SVG,
    "posterior_draws_csv": POSTERIOR_DRAWS_CSV,
}
"""What a fit with a sampled posterior writes besides (part of :data:`FIT_OUTPUTS`)."""
FIT_OUTPUTS |= POSTERIOR_OUTPUTS

TUNE_PLOTS = ("optimization_history", "param_importances", "parallel_coordinate", "slice")
TUNE_OUTPUTS = {
    "trials_csv": "trials.csv",
    "settings": "best.toml",
    **{f"{plot}_png": f"{plot}.png" for plot in TUNE_PLOTS},
    **{f"{plot}_html": f"{plot}.html" for plot in TUNE_PLOTS},
}
"""Artifact kind → file name of what a tune writes into its job's folder."""


@dataclass(frozen=True)
class Collected:
    """The files found (kind → path) and, for people, the ones refused and why."""

    files: dict[str, Path] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


def fit_outputs(model_out: Path) -> dict[str, str]:
    """Kind → name of every file a fit writing its model to ``model_out`` leaves in that folder."""
    return {"model": model_out.name, **FIT_OUTPUTS}


def collect(folder: Path, names: Mapping[str, str], max_bytes: int | None = None) -> Collected:
    """The files of ``names`` (kind → file name) that exist in ``folder`` as plain, singly linked files
    of at most ``max_bytes`` bytes; ``folder`` itself must be a real folder (not a link)."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return Collected(refused=[f"{folder.name}: not a folder"])
    except OSError:
        return Collected()
    found: dict[str, Path] = {}
    refused: list[str] = []
    for kind, name in names.items():
        if os.sep in name or name in ("", ".", ".."):
            continue
        path = folder / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        why = refusal(info, max_bytes)
        if why is None:
            found[kind] = path
        else:
            refused.append(f"{name}: {why}")
    return Collected(found, refused)


def refusal(info: os.stat_result, max_bytes: int | None) -> str | None:
    """Why a file with ``info`` (from ``lstat``) is not served, or None."""
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "not a plain file"
    if info.st_nlink != 1:
        return "a hard link to another file"
    if max_bytes is not None and info.st_size > max_bytes:
        return f"larger than the output limit of {max_bytes} bytes"
    return None
