"""The fit as an ORSO reflectivity file (``fit.ort``): data, fitted curve, model and covariance.

One ORSO data set per GenX data set, each with the columns ``Qz`` (Å⁻¹; data taken in 2θ
are converted with the instrument's wavelength, as GenX's own export does), ``R``, ``sR``,
``sQz`` when the data carry a resolution column of the same length, and ``Rsim`` (the fitted
simulation). The header keeps the data set's own ORSO metadata (from an ``.ort`` it was read
from, or GenX's defaults) and adds an ``analysis`` section: the software, the figure of merit,
every fitted parameter (value, bounds, flags, Jacobian σ), the covariance when one was
computed (labelled with how), and the fitted sample in the ORSO model language where GenX can
express it (its "simple model" of the layer stack). Any reader of ORSO files (orsopy, GenX,
refnx) reads it.

Written only for reflectivity data whose x is known (the model's instrument in Q or 2θ); other
models (peak fits, surface diffraction) get no ``fit.ort``.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.version import __version__


class NoOrsoFile(Exception):
    """This fit has no ORSO form (its x is not Q or 2θ, or it has no data); the reason in words."""


def q_values(model: GenxModel, x: np.ndarray, axis: str) -> np.ndarray:
    """``x`` as Qz in Å⁻¹: as it is for ``q``, from 2θ in ° with the instrument's wavelength."""
    if axis == "q":
        return x
    instrument = getattr(model.model.script_module, "inst", None)
    wavelength = float(getattr(instrument, "wavelength", math.nan))
    if not math.isfinite(wavelength) or wavelength <= 0:
        raise NoOrsoFile("the instrument's wavelength is unknown, so 2θ cannot be converted to Q")
    return np.asarray(4 * np.pi / wavelength * np.sin(np.radians(x) / 2))


def sample_model(model: GenxModel) -> Any | None:
    """The fitted sample in the ORSO model language, where GenX can express it (else None)."""
    try:
        return model.model.create_simple_model()
    except Exception:  # GenX expresses only layer-stack reflectivity models
        return None


def analysis(model: GenxModel, result: FitResult) -> dict[str, Any]:
    """The ``analysis`` section: software, FOM, parameters, covariance, sample model."""
    from metagenx.outputs.tables import jacobian_sigma

    sigma = jacobian_sigma(result)
    section: dict[str, Any] = {
        "software": {"name": "metagenx", "version": __version__, "genx": result.genx_version},
        "figure_of_merit": {"name": result.fom_name, "value": finite(result.fom)},
        "complete": result.complete,
        "parameters": [
            {
                "name": p.name,
                "value": finite(p.value),
                "min": finite(p.min),
                "max": finite(p.max),
                "sigma_jacobian": finite(sigma.get(p.name)),
                "flags": p.flags,
            }
            for p in result.parameters
        ],
    }
    covariance = result.extra.get("covariance")
    if isinstance(covariance, dict) and "matrix" in covariance:
        section["covariance"] = {
            "label": covariance.get("label"),
            "names": covariance.get("names"),
            "matrix": [[finite(v) for v in row] for row in covariance["matrix"]],
            "reduced_chi2": finite(covariance.get("reduced_chi2")),
        }
    simple = sample_model(model)
    if simple is not None:
        section["model"] = simple
    return section


def finite(value: Any) -> float | None:
    """A plain float, or None when missing or not finite (YAML has no NaN that all readers share)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def orso_bytes(model: GenxModel, result: FitResult) -> bytes:
    """``fit.ort``'s content for the fitted ``model`` and its ``result``; :class:`NoOrsoFile` when none."""
    from orsopy.fileio import Column, ErrorColumn, Orso, OrsoDataset, save_orso

    if not result.datasets:
        raise NoOrsoFile("the model has no data set")
    axis = result.datasets[0].x_axis
    if axis not in ("q", "2theta"):
        raise NoOrsoFile("the model's instrument gives no Q or 2θ axis")
    section = analysis(model, result)
    written = []
    for index, (data, curve) in enumerate(zip(model.model.data, result.datasets, strict=True)):
        x = np.asarray(curve.x, dtype=float)
        columns = [q_values(model, x, axis), np.asarray(curve.y, float), np.asarray(curve.error, float)]
        names: list[Any] = [Column("Qz", "1/angstrom"), Column("R"), ErrorColumn("R")]
        resolution = getattr(data, "extra_data", {}).get("res")
        if resolution is not None and len(resolution) == len(x) and axis == "q":
            columns.append(np.asarray(resolution, dtype=float))
            names.append(ErrorColumn("Qz"))
        columns.append(np.asarray(curve.simulated, dtype=float))
        names.append(Column("Rsim"))
        header = Orso.from_dict(dict(getattr(data, "meta", None) or {})).to_dict()
        header.update(
            {
                "data_set": curve.name or f"data set {index}",
                "columns": names,
                "analysis": {**section, "data_set_in_use": curve.use},
            }
        )
        written.append(OrsoDataset(Orso.from_dict(header), np.column_stack(columns)))
    buffer = io.StringIO()
    save_orso(written, buffer, comment=f"written by metagenx {__version__}", data_separator="\n")
    return buffer.getvalue().encode("utf-8")
