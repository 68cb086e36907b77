"""fit.ort: an ORSO file orsopy reads back with the data, the fitted curve, the model and the covariance."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from orsopy.fileio import load_orso

from metagenx.engine.covariance import jacobian_covariance
from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings
from metagenx.outputs import OutputFiles
from metagenx.outputs.orso import NoOrsoFile, orso_bytes


def read(content: bytes) -> list:  # type: ignore[type-arg]
    return load_orso(io.StringIO(content.decode("utf-8")))


def fitted(path: Path) -> tuple[GenxModel, FitResult]:
    import dataclasses

    model = GenxModel.load(path)
    result = run_fit(model, FitSettings(seed=1, max_generations=2))
    covariance = jacobian_covariance(model)
    assert covariance is not None
    return model, dataclasses.replace(result, extra={"covariance": covariance.to_dict()})


def test_a_2theta_fit_reads_back_in_q_with_its_curve_parameters_and_covariance(superadam: Path) -> None:
    model, result = fitted(superadam)
    (dataset,) = read(orso_bytes(model, result))
    names = [c.name for c in dataset.info.columns]
    assert names[:3] == ["Qz", "R", "sR"] and names[-1] == "Rsim"
    curve = result.datasets[0]
    wavelength = model.model.script_module.inst.wavelength
    expected_q = 4 * np.pi / wavelength * np.sin(np.radians(curve.x) / 2)
    assert np.allclose(dataset.data[:, 0], expected_q, rtol=1e-12)
    assert np.allclose(dataset.data[:, 1], curve.y) and np.allclose(dataset.data[:, 2], curve.error)
    assert np.allclose(dataset.data[:, -1], curve.simulated)
    analysis = dataset.info.analysis
    values = {p["name"]: p["value"] for p in analysis["parameters"]}
    assert values == pytest.approx(result.values, rel=1e-12)
    covariance = analysis["covariance"]
    assert covariance["names"] == list(result.values) and "Jacobian" in covariance["label"]
    assert np.allclose(covariance["matrix"], result.extra["covariance"]["matrix"])
    assert analysis["figure_of_merit"]["value"] == pytest.approx(result.fom)
    assert "model" in analysis and "stack" in str(analysis["model"]), "the ORSO model language"


def test_a_q_fit_keeps_q_and_every_data_set(d17: Path) -> None:
    model, result = fitted(d17)
    datasets = read(orso_bytes(model, result))
    assert [d.info.data_set for d in datasets] == [c.name for c in result.datasets]
    for dataset, curve in zip(datasets, result.datasets, strict=True):
        assert np.allclose(dataset.data[:, 0], curve.x)
        assert np.allclose(dataset.data[:, -1], curve.simulated, equal_nan=True)


def test_a_model_without_q_or_2theta_has_no_orso_file(examples: Path) -> None:
    model = GenxModel.load(examples / "Peakfit_Gauss.hgx")
    result = run_fit(model, FitSettings(seed=1, max_generations=2))
    with pytest.raises(NoOrsoFile, match="no Q or 2θ"):
        orso_bytes(model, result)


def test_write_outputs_includes_the_orso_file(written: OutputFiles) -> None:
    (dataset,) = load_orso(str(written.orso))
    assert dataset.info.data_set == "NeutronData"
