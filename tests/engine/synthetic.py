"""Model files whose data were simulated from known values with known Gaussian noise.

Built from GenX's SuperAdam_SiO example: a silicon oxide film on silicon, measured by neutrons.
Only the film's thickness, density and roughness are fitted; the data are the example's own
angles (every ``stride``-th) without the resolution convolution, the simulation at
:data:`TRUTH` plus noise of a known relative size, and error bars equal to that noise's
standard deviation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metagenx.engine.model import GenxModel

TRUTH = {"SiO.setD": 1205.0, "SiO.setDens": 0.026, "SiO.setSigma": 3.0}
"""The values the data were simulated from."""


def simulated_model(
    source: Path,
    folder: Path,
    seed: int,
    *,
    stride: int = 4,
    relative_error: float = 0.05,
    truth: dict[str, float] | None = None,
) -> Path:
    """Write ``folder/simulated-<seed>.hgx``: ``source`` (SuperAdam_SiO) with data simulated at
    ``truth`` plus Gaussian noise of ``relative_error`` × the simulation (seeded by ``seed``)."""
    truth = TRUTH if truth is None else truth
    model = GenxModel.load(source)
    # No resolution convolution: five times cheaper, and nothing the posterior's tests need.
    model.model.set_script(model.script.replace("restype='full conv and varying res.'", "restype='no conv'"))
    for row in model.parameters:
        if row.name:
            model.set_parameter(row.name, fit=row.name in truth)
    for name, value in truth.items():
        model.set_parameter(name, value=value)
    data = model.model.data[0]
    x = np.asarray(data.x, dtype=float)[::stride]
    set_points(data, x, np.ones_like(x), np.ones_like(x))
    model.simulate()
    exact = np.asarray(data.y_sim, dtype=float)
    sigma = relative_error * np.abs(exact)
    noisy = exact + np.random.default_rng(seed).normal(0.0, sigma)
    set_points(data, x, noisy, sigma)
    model.simulate()
    return model.save(folder / f"simulated-{seed}.hgx")


def set_points(data: object, x: np.ndarray, y: np.ndarray, error: np.ndarray) -> None:
    """Replace a GenX data set's points: raw columns as given, and plain x/y/error commands."""
    data.x_raw, data.y_raw, data.error_raw = x.copy(), y.copy(), error.copy()  # type: ignore[attr-defined]
    data.extra_data = {}  # type: ignore[attr-defined]
    data.extra_commands = {}  # type: ignore[attr-defined]
    data.set_commands({"x": "x", "y": "y", "e": "e"})  # type: ignore[attr-defined]
    data.run_command()  # type: ignore[attr-defined]
