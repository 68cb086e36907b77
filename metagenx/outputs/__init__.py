"""Every output file of one fit, written beside the fitted model, all at once or not at all.

:func:`write_outputs` writes the fitted model and, in the same folder,
``result.json``, ``parameters.csv``, ``fit.png`` and ``fom.png`` (and their SVG twins
``fit.svg``, ``fom.svg``), for reflectivity data ``fit.ort`` (:mod:`metagenx.outputs.orso`), and
with a sampled posterior (:mod:`metagenx.engine.posterior`) ``corner.png``/``.svg``,
``band.png``/``.svg`` and ``posterior_draws.csv`` (without one, such files left by an earlier fit
in the folder are removed, so that they never pass for this fit's).
Each file is written to a hidden temporary twin first and renamed
over the old file only when all of them were written, so a failure (full disk, permission
denied, a plotting error) raises
:class:`~metagenx.errors.OutputError` and leaves any previous result files intact.
``result.json`` is renamed last: when it is new, the others are too.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.errors import OutputError
from metagenx.outputs.files import Staging, reason
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
    POSTERIOR_FILES,
    RESULT_JSON,
)
from metagenx.outputs.plots import fit_figure, fom_figure, rendered
from metagenx.outputs.tables import draws_csv, parameters_csv

if TYPE_CHECKING:
    from metagenx.engine.posterior import Posterior

__all__ = [
    "FIT_ORT",
    "FIT_PNG",
    "FIT_SVG",
    "FOM_PNG",
    "FOM_SVG",
    "PARAMETERS_CSV",
    "RESULT_JSON",
    "OutputFiles",
    "write_outputs",
]

MODEL_SUFFIXES = (".hgx", ".gx")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputFiles:
    """Paths of the files one fit wrote (all in one folder)."""

    model: Path
    result_json: Path
    parameters_csv: Path
    fit_png: Path
    fom_png: Path
    fit_svg: Path
    fom_svg: Path
    orso: Path
    """``fit.ort``: written for reflectivity data only (see :mod:`metagenx.outputs.orso`)."""

    @property
    def all(self) -> tuple[Path, ...]:
        """Every path, model first."""
        return (
            self.model,
            self.result_json,
            self.parameters_csv,
            self.fit_png,
            self.fom_png,
            self.fit_svg,
            self.fom_svg,
            self.orso,
        )

    @classmethod
    def beside(cls, model_out: Path) -> OutputFiles:
        """The output paths that go with a fitted model written at ``model_out``."""
        folder = model_out.parent
        return cls(
            model=model_out,
            result_json=folder / RESULT_JSON,
            parameters_csv=folder / PARAMETERS_CSV,
            fit_png=folder / FIT_PNG,
            fom_png=folder / FOM_PNG,
            fit_svg=folder / FIT_SVG,
            fom_svg=folder / FOM_SVG,
            orso=folder / FIT_ORT,
        )


def check_model_path(model_out: Path) -> None:
    """Raise :class:`OutputError` unless ``model_out`` can name a GenX model file; create its folder."""
    if model_out.is_dir():
        raise OutputError(f"output path {model_out} is a directory; give a file name ending in .hgx or .gx")
    if model_out.suffix.lower() not in MODEL_SUFFIXES:
        raise OutputError(f"output model {model_out} must end in .hgx (HDF5) or .gx (zip)")
    folder = model_out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file" if blocker is not None else reason(exc)
        raise OutputError(f"cannot create output directory {folder}: {why}") from exc


def remove_leftovers(paths: OutputFiles) -> None:
    """Delete the hidden temporary twins an earlier write killed half-way left beside ``paths``."""
    for target in paths.all:
        for leftover in target.parent.glob(f".{glob.escape(target.stem)}.*.tmp{glob.escape(target.suffix)}"):
            with contextlib.suppress(OSError):
                leftover.unlink()


def orso_or_none(model: GenxModel, result: FitResult) -> bytes | None:
    """``fit.ort``'s content, or None for a fit without an ORSO form (or one orsopy cannot write:
    the other outputs are written all the same, and the reason logged)."""
    from metagenx.outputs.orso import NoOrsoFile, orso_bytes

    try:
        return orso_bytes(model, result)
    except NoOrsoFile:
        return None
    except Exception as exc:  # orsopy or GenX metadata it cannot express: no .ort, the rest stands
        log.warning("no fit.ort for %s: %s", model.path.name, reason(exc))
        return None


def write_outputs(
    model: GenxModel, result: FitResult, model_out: Path, *, posterior: Posterior | None = None
) -> OutputFiles:
    """Write the fitted ``model`` at ``model_out`` and ``result``'s files beside it (and the
    ``posterior``'s plots and draws, when given).

    ``model`` must already hold the fitted values (as :func:`metagenx.engine.fit.run_fit`
    leaves it). The model is saved as ``.hgx`` or, when ``model_out`` ends in ``.gx``,
    as ``.gx``. Missing folders are created; existing files of the same names are
    replaced. Raises :class:`OutputError` (one line: path and reason) if any file cannot
    be written; then no file was replaced (unless a rename itself fails part-way, which
    needs no disk space and is rare).
    """
    paths = OutputFiles.beside(Path(model_out))
    check_model_path(paths.model)
    remove_leftovers(paths)
    # GenX remembers the last file it saved to: point it at the real file afterwards, not at
    # the temporary one (and after a failure, back at what it was).
    genx_model = model.model
    previous_filename = genx_model.filename
    try:
        # Written, then renamed, in this order. The model comes after the plain files: an
        # HDF5 write failing part-way can leave h5py in a state that crashes the process at
        # exit, so a full disk had better show on a plain file first. result.json goes last.
        with Staging() as staging:
            staging.add_bytes(paths.parameters_csv, lambda: parameters_csv(result).encode("utf-8"))
            fit = functools.cache(lambda: rendered(fit_figure(result), "png", "svg"))
            fom = functools.cache(lambda: rendered(fom_figure(result), "png", "svg"))
            staging.add_bytes(paths.fit_png, lambda: fit()[0])  # a drawing error names its file
            staging.add_bytes(paths.fom_png, lambda: fom()[0])
            staging.add_bytes(paths.fit_svg, lambda: fit()[1])
            staging.add_bytes(paths.fom_svg, lambda: fom()[1])
            orso = orso_or_none(model, result)
            if orso is not None:
                staging.add_bytes(paths.orso, orso)
            if posterior is not None:
                stage_posterior(staging, paths.model.parent, result, posterior)
            staging.add(paths.model, model.save)
            staging.add_bytes(paths.result_json, lambda: (result.to_json() + "\n").encode("utf-8"))
    except BaseException:
        genx_model.filename = previous_filename
        raise
    genx_model.filename = os.path.abspath(paths.model)
    if posterior is None:
        for name in POSTERIOR_FILES:
            with contextlib.suppress(FileNotFoundError):
                (paths.model.parent / name).unlink()
    return paths


def stage_posterior(staging: Staging, folder: Path, result: FitResult, posterior: Posterior) -> None:
    """Stage the corner plot, the band plot and the draws of ``posterior``."""
    from metagenx.outputs.posterior_plots import band_figure, corner_figure

    corner = functools.cache(lambda: rendered(corner_figure(result, posterior), "png", "svg"))
    band = functools.cache(lambda: rendered(band_figure(result, posterior), "png", "svg"))
    staging.add_bytes(folder / CORNER_PNG, lambda: corner()[0])
    staging.add_bytes(folder / CORNER_SVG, lambda: corner()[1])
    staging.add_bytes(folder / BAND_PNG, lambda: band()[0])
    staging.add_bytes(folder / BAND_SVG, lambda: band()[1])
    draws = draws_csv(posterior.names, posterior.sample)
    staging.add_bytes(folder / POSTERIOR_DRAWS_CSV, draws.encode("utf-8"))
