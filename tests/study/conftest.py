"""Data files simulated from GenX's SuperAdam example, and study files around them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from metagenx.engine.model import GenxModel

TRUE_THICKNESS = {20: 1150.0, 100: 1180.0, 300: 1230.0}
"""SiO thickness (Å) simulated per temperature (K)."""


def simulate_curve(template: Path, thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """x (2θ in °) and the template's simulated reflectivity for a given SiO thickness in Å."""
    model = GenxModel.load(template)
    model.set_parameter("SiO.setD", value=thickness)
    model.simulate()
    data = model.model.data[0]
    return np.asarray(data.x, dtype=float), np.asarray(data.y_sim, dtype=float)


def write_columns(path: Path, x: np.ndarray, y: np.ndarray, header: str, seed: int) -> Path:
    """Columns ``x R dR`` with 3 % noise, after ``header`` lines (each starting with '# ')."""
    rng = np.random.default_rng(seed)
    error = 0.03 * y
    noisy = y + error * rng.standard_normal(y.size)
    with path.open("w", encoding="utf-8") as handle:
        for line in header.splitlines():
            handle.write(f"# {line}\n")
        handle.write("# 2theta R dR\n")
        np.savetxt(handle, np.column_stack([x, noisy, error]))
    return path


@pytest.fixture(scope="session")
def data_folder(tmp_path_factory: pytest.TempPathFactory, superadam: Path) -> Path:
    """``T20.dat``, ``T100.dat``, ``T300.dat``: named so that name order differs from temperature order."""
    folder = tmp_path_factory.mktemp("data")
    for index, (temperature, thickness) in enumerate(TRUE_THICKNESS.items()):
        x, y = simulate_curve(superadam, thickness)
        header = f"sample: SiO on Si\ntemperature: {temperature} K\nrun = {900 - index}"
        write_columns(folder / f"T{temperature}.dat", x, y, header, seed=index)
    return folder


WriteStudy = Callable[[str, str], Path]


@pytest.fixture
def write_study(tmp_path: Path) -> WriteStudy:
    """``write_study(name, text) -> path``: a study file in a fresh folder."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
