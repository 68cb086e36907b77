"""Check a converted model against what was read: same grid, same data, and the FOM it implies.

After ``metagenx convert`` writes a new file, :func:`check_fidelity` loads that file
again (``.hgx`` through GenX 3 itself, ``.gx`` through metagenx's safe reader) and:

1. compares the parameter grid and every data array exactly with the model as read;
2. simulates it with GenX 3 and reports the FOM for the grid's values;
3. when the original file kept its optimizer's result (best values and best FOM),
   simulates those values too and compares with the FOM stored in the file; else
   compares with the FOM of the simulation stored in the file.

Differences in 1 are conversion errors. Differences in 3 come from the model
library changing between GenX versions and are reported, not treated as errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.gx.content import FitState
from metagenx.engine.gx.reader import GxContent
from metagenx.engine.model import GenxModel

DATA_ARRAYS = ("x", "y", "error", "x_raw", "y_raw", "error_raw")
AGREEMENT = 1e-9
"""Relative FOM difference below which two FOMs are reported as equal."""


@dataclass
class FidelityReport:
    """Outcome of :func:`check_fidelity`; FOMs are in the units of the model's FOM function."""

    differences: list[str] = field(default_factory=list)
    """Grid or data that differ between the model as read and the converted file; empty when faithful."""
    fom: float | None = None
    """GenX 3's FOM of the converted model with the grid's values."""
    reference_fom: float | None = None
    """The FOM the original file implies: its optimizer's best FOM, or the FOM of its stored simulation."""
    reference: str = ""
    """What ``reference_fom`` is, in words."""
    recomputed_fom: float | None = None
    """GenX 3's FOM for the same parameter values as ``reference_fom``."""

    @property
    def faithful(self) -> bool:
        """Grid and data of the converted file equal the originals exactly."""
        return not self.differences

    @property
    def relative_difference(self) -> float | None:
        if self.reference_fom is None or self.recomputed_fom is None:
            return None
        scale = max(abs(self.reference_fom), 1e-300)
        return abs(self.recomputed_fom - self.reference_fom) / scale

    def lines(self) -> list[str]:
        """The report as lines for a terminal."""
        out = [f"differs: {d}" for d in self.differences] or [
            "parameter grid and data equal the originals exactly"
        ]
        if self.fom is not None:
            out.append(f"FOM with the grid's values (GenX 3): {self.fom:.8g}")
        if self.reference_fom is not None and self.recomputed_fom is not None:
            difference = self.relative_difference or 0.0
            verdict = "equal" if difference <= AGREEMENT else f"differs by {difference:.3%}"
            out.append(
                f"{self.reference}: {self.reference_fom:.8g}; GenX 3 for the same values: "
                f"{self.recomputed_fom:.8g} ({verdict})"
            )
            if difference > AGREEMENT:
                out.append(
                    "  (GenX's model code or tables changed between versions; the conversion itself is exact)"
                )
        return out


def check_fidelity(original: GenxModel, converted: Path, stored: GxContent | None = None) -> FidelityReport:
    """Compare the file ``converted`` with ``original`` (as loaded, not yet simulated).

    ``stored`` is what :func:`~metagenx.engine.gx.reader.read_gx` read from the original ``.gx``
    (for its optimizer's result and stored simulation); ``None`` for ``.hgx`` sources.
    ``original`` is left untouched; the converted file is loaded separately.
    """
    copy = GenxModel.load(converted)
    report = FidelityReport()
    report.differences = compare_grids(original, copy) + compare_data(original, copy)
    if original.script != copy.script:
        report.differences.append("the model script")
    if original.fom_name != copy.fom_name:
        report.differences.append(f"the FOM function ({original.fom_name} → {copy.fom_name})")
    report.fom = copy.simulate()
    fit_state = stored.fit_state if stored is not None else None
    if fit_state is not None and len(fit_state.best_vec) == len(copy.fit_parameters):
        report.reference = "best FOM stored by the original optimizer"
        report.reference_fom = fit_state.best_fom
        report.recomputed_fom = best_values_fom(copy, fit_state)
    elif stored is not None:
        stored_fom = stored_simulation_fom(copy, stored)
        if stored_fom is not None:
            report.reference = "FOM of the simulation stored in the original file"
            report.reference_fom = stored_fom
            report.recomputed_fom = report.fom
    return report


def compare_grids(original: GenxModel, copy: GenxModel) -> list[str]:
    rows_a, rows_b = original.model.parameters.data, copy.model.parameters.data
    if len(rows_a) != len(rows_b):
        return [f"parameter grid has {len(rows_b)} rows instead of {len(rows_a)}"]
    differences = []
    for index, (a, b) in enumerate(zip(rows_a, rows_b, strict=True)):
        if not all(same_value(x, y) for x, y in zip(a, b, strict=True)):
            differences.append(f"parameter grid row {index}: {list(a)} became {list(b)}")
    return differences


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def compare_data(original: GenxModel, copy: GenxModel) -> list[str]:
    sets_a, sets_b = list(original.model.data), list(copy.model.data)
    if len(sets_a) != len(sets_b):
        return [f"{len(sets_b)} data sets instead of {len(sets_a)}"]
    differences = []
    for index, (a, b) in enumerate(zip(sets_a, sets_b, strict=True)):
        where = f"data set {index} ({a.name!r})"
        for key in DATA_ARRAYS:
            if not same_array(getattr(a, key), getattr(b, key)):
                differences.append(f"{where}: {key}")
        for key, column in a.extra_data_raw.items():
            if not same_array(column, b.extra_data_raw.get(key)):
                differences.append(f"{where}: extra data {key}")
        for attribute in ("name", "use", "use_error", "x_command", "y_command", "error_command"):
            if getattr(a, attribute) != getattr(b, attribute):
                differences.append(f"{where}: {attribute}")
    return differences


def same_array(a: Any, b: Any) -> bool:
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or a.shape != b.shape:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc" and b.dtype.kind in "fc"))


def best_values_fom(model: GenxModel, state: FitState) -> float:
    """GenX 3's FOM with the stored best values put into the fit rows of the grid."""
    model.set_fit_values(state.best_vec)
    return model.simulate(recompile=False)


def stored_simulation_fom(model: GenxModel, stored: GxContent) -> float | None:
    """The file's FOM function applied to the simulation stored with each data set, if complete."""
    simulations = [item.arrays["y_sim"] for item in stored.datasets]
    if any(len(sim) != len(data.x) for sim, data in zip(simulations, model.model.data, strict=True)):
        return None
    _, _, fom = model.model.calc_fom(simulations)
    return float(fom)
