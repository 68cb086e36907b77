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

from tests.engine.counting import exact_model, set_points

TRUTH = {"SiO.setD": 1205.0, "SiO.setDens": 0.026, "SiO.setSigma": 3.0}
"""The values the data were simulated from (as :mod:`tests.engine.counting`'s)."""


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
    model = exact_model(source, stride, TRUTH if truth is None else truth)
    data = model.model.data[0]
    x = np.asarray(data.x, dtype=float)
    exact = np.asarray(data.y_sim, dtype=float)
    sigma = relative_error * np.abs(exact)
    noisy = exact + np.random.default_rng(seed).normal(0.0, sigma)
    set_points(data, x, noisy, sigma)
    model.simulate()
    return model.save(folder / f"simulated-{seed}.hgx")
