"""Model files whose data were counted: Poisson counts at a known flux and counting time.

Built from GenX's SuperAdam_SiO example (a silicon oxide film on silicon, neutrons), like
:mod:`tests.engine.synthetic` but with counting noise: at each of the example's angles (every
``stride``-th), ``counts = Poisson(flux × time × R)`` of the reflectivity ``R`` simulated at
:data:`TRUTH` without the resolution convolution; the data are ``counts / (flux × time)`` with
errors ``√counts / (flux × time)``. Points that counted nothing have no error bar (left out of
the fit). Counting 4× longer is ``time=4``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metagenx.engine.model import GenxModel

TRUTH = {"SiO.setD": 1205.0, "SiO.setDens": 0.026, "SiO.setSigma": 3.0}
"""The values the data were counted at."""
FLUX = 2e6
"""Counts per unit reflectivity in one unit of counting time."""


def counted_model(
    source: Path,
    folder: Path,
    seed: int,
    *,
    time: float = 1.0,
    stride: int = 4,
    truth: dict[str, float] | None = None,
) -> Path:
    """Write ``folder/counted-<seed>-<time>.hgx``: ``source`` (SuperAdam_SiO) with Poisson counting
    noise at ``FLUX × time`` counts per unit reflectivity (seeded by ``seed``)."""
    truth = TRUTH if truth is None else truth
    model = exact_model(source, stride, truth)
    data = model.model.data[0]
    x = np.asarray(data.x, dtype=float)
    y, error = counted(np.asarray(data.y_sim, dtype=float), time, seed)
    set_points(data, x, y, error)
    model.simulate()
    return model.save(folder / f"counted-{seed}-{time:g}.hgx")


def exact_model(source: Path, stride: int, truth: dict[str, float]) -> GenxModel:
    """``source`` fitting only ``truth``'s parameters, set to their values, at every ``stride``-th
    angle, simulated without the resolution convolution (``y_sim`` is the exact reflectivity)."""
    model = GenxModel.load(source)
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
    return model


def counted(exact: np.ndarray, time: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Reflectivity and its counting error from Poisson counts of ``exact`` over ``time``."""
    scale = FLUX * time
    counts = np.random.default_rng(seed).poisson(scale * np.clip(exact, 0, None)).astype(float)
    return counts / scale, np.sqrt(counts) / scale


def set_points(data: object, x: np.ndarray, y: np.ndarray, error: np.ndarray) -> None:
    """Replace a GenX data set's points: raw columns as given, and plain x/y/error commands."""
    data.x_raw, data.y_raw, data.error_raw = x.copy(), y.copy(), error.copy()  # type: ignore[attr-defined]
    data.extra_data = {}  # type: ignore[attr-defined]
    data.extra_commands = {}  # type: ignore[attr-defined]
    data.set_commands({"x": "x", "y": "y", "e": "e"})  # type: ignore[attr-defined]
    data.run_command()  # type: ignore[attr-defined]


BOUNDS = {"SiO.setD": (1195.0, 1215.0), "SiO.setDens": (0.0255, 0.0265), "SiO.setSigma": (2.0, 4.0)}
"""Narrow bounds around :data:`TRUTH`: a short fit finds the optimum."""


def counting_template(source: Path, folder: Path, stride: int = 4) -> tuple[Path, np.ndarray]:
    """A watch template (``folder/counting-template.hgx``: the fitted parameters within
    :data:`BOUNDS`) and the exact reflectivity at its angles, for :func:`counted_file`."""
    model = exact_model(source, stride, TRUTH)
    for name, (low, high) in BOUNDS.items():
        model.set_parameter(name, min=low, max=high)
    data = model.model.data[0]
    curve = np.column_stack([np.asarray(data.x, dtype=float), np.asarray(data.y_sim, dtype=float)])
    return model.save(folder / "counting-template.hgx"), curve


def counted_file(curve: np.ndarray, time: float, seed: int) -> bytes:
    """A data file (``2theta R dR``) counted over ``time`` from ``curve`` (x, exact R); points
    that counted nothing are left out (GenX's log FOM cannot take them)."""
    y, error = counted(curve[:, 1], time, seed)
    lines = [f"# counted for {time:g} time units", "# 2theta R dR"]
    rows = zip(curve[:, 0], y, error, strict=True)
    lines += [f"{x:.10g} {v:.10g} {e:.10g}" for x, v, e in rows if v > 0]
    return ("\n".join(lines) + "\n").encode()


SPLIT = {"SiO.setD": 605.0, "SiO2.setD": 600.0, "SiO.setDens": 0.026}
"""A film of one material split into two layers: only the sum of their thicknesses shows."""


def split_film_model(source: Path, time: float = 1.0, seed: int = 0, *, fit_both: bool = True) -> GenxModel:
    """SuperAdam_SiO's film as two layers of the same oxide (``SiO`` and ``SiO2``, 605 + 600 Å),
    counted like :func:`counted_model`. With ``fit_both`` both thicknesses are fitted: a pair the
    data cannot separate (and ``SiO.setSigma``, the roughness between them, which nothing shows)."""
    model = GenxModel.load(source)
    script = model.script.replace("restype='full conv and varying res.'", "restype='no conv'")
    second = (
        "SiO2 = model.Layer(sigma=3, dens=0.026, d=600, f=(1e-20+1e-20j), b=bc.Si + bc.O*2, xs_ai=0.0, "
        "magn=0.0, magn_ang=0.0)\nsurf = model.Stack(Layers=[SiO, SiO2], Repetitions = 1)"
    )
    model.model.set_script(script.replace("surf = model.Stack(Layers=[SiO], Repetitions = 1)", second))
    for row in model.parameters:
        if row.name:
            model.set_parameter(row.name, fit=False)
    model.model.parameters.data.append(["SiO2.setD", 600.0, fit_both, 590.0, 610.0, "-"])
    model.set_parameter("SiO.setD", value=SPLIT["SiO.setD"], fit=True, min=595.0, max=615.0)
    model.set_parameter("SiO.setDens", value=SPLIT["SiO.setDens"], fit=True)
    model.set_parameter("SiO.setSigma", value=3.0, fit=fit_both)
    data = model.model.data[0]
    x = np.asarray(data.x, dtype=float)[::4]
    set_points(data, x, np.ones_like(x), np.ones_like(x))
    model.simulate()
    y, error = counted(np.asarray(data.y_sim, dtype=float), time, seed)
    kept = y > 0
    set_points(data, x[kept], y[kept], error[kept])
    model.simulate()
    return model
