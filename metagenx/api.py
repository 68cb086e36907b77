"""The Python API, for scripts and notebooks."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from metagenx.engine.fit import ProgressCallback
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings
from metagenx.runner.polish import fit_and_polish


def load(path: str | os.PathLike[str]) -> GenxModel:
    """Load a GenX ``.hgx`` or ``.gx`` model file (GenX 2 and 3); the file is never modified."""
    return GenxModel.load(path)


def fit(
    path: str | os.PathLike[str] | GenxModel,
    *,
    out: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    stop_event: threading.Event | None = None,
    settings: FitSettings | None = None,
    **setting_values: Any,
) -> FitResult:
    """Fit a model file (or a loaded model) and return the result.

    Keyword settings are those of :class:`FitSettings` (``seed``, ``km``, ``kr``,
    ``population``, ``strategy``, ``max_generations``, ``max_evaluations``,
    ``max_time`` in s, ``tolerance``, ``window``, ``min_spread``, ``genx_defaults``,
    ``error_bars``). With ``out``, the fitted model and the result files
    (``result.json``, ``parameters.csv``, ``fit.png``, ``fom.png``) are written
    beside it.
    """
    model = path if isinstance(path, GenxModel) else GenxModel.load(path)
    chosen = (settings or FitSettings()).replace(**setting_values)
    result = fit_and_polish(model, chosen, progress=progress, stop_event=stop_event)
    if out is not None:
        from metagenx.outputs import write_outputs

        write_outputs(model, result, Path(out))
    return result
