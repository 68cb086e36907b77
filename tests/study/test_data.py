"""Loading data files into a template with GenX's own loaders, headless, and reading their headers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metagenx.engine.data import column_value, load_into_dataset, loader_names, read_header_value
from metagenx.engine.model import GenxModel
from metagenx.errors import DataFileError, ModelContentError

from .conftest import simulate_curve


def loaded(template: Path, path: Path, loader: str = "auto", **options: object) -> GenxModel:
    model = GenxModel.load(template)
    load_into_dataset(model, 0, str(path), loader, dict(options))
    return model


def file_columns(path: Path) -> np.ndarray:
    return np.loadtxt(path)


@pytest.mark.parametrize("loader", ["default", "auto"])
def test_plain_columns_load_into_the_template(superadam: Path, data_folder: Path, loader: str) -> None:
    path = data_folder / "T300.dat"
    model = loaded(superadam, path, loader)
    columns = file_columns(path)
    data = model.model.data[0]
    np.testing.assert_array_equal(data.x, columns[:, 0])
    np.testing.assert_array_equal(data.y, columns[:, 1])
    np.testing.assert_array_equal(data.error, columns[:, 2])
    assert [(d.name, d.points, d.use) for d in model.datasets] == [("NeutronData", columns.shape[0], True)]
    # The file was simulated with SiO.setD = 1230 Å: setting it back gives a small FOM.
    model.set_parameter("SiO.setD", value=1230.0)
    right = model.simulate()
    model.set_parameter("SiO.setD", value=1150.0)
    assert right < 0.02 and model.simulate() > 5 * right


def test_loader_options_choose_columns(superadam: Path, data_folder: Path, tmp_path: Path) -> None:
    columns = file_columns(data_folder / "T20.dat")
    swapped = tmp_path / "swapped.txt"
    np.savetxt(swapped, columns[:, [2, 0, 1]], delimiter=",", header="dR, 2theta, R")
    model = loaded(superadam, swapped, "default", x_col=1, y_col=2, e_col=0, delimiter=",")
    np.testing.assert_allclose(model.model.data[0].x, columns[:, 0])
    np.testing.assert_allclose(model.model.data[0].y, columns[:, 1])
    # auto accepts the same option names (it calls them q_col, I_col, eI_col itself)
    model = loaded(superadam, swapped, "auto", x_col=1, y_col=2, e_col=0, delimiter=",")
    np.testing.assert_allclose(model.model.data[0].error, columns[:, 2])


def test_name_option_renames_the_data_set(superadam: Path, data_folder: Path) -> None:
    model = loaded(superadam, data_folder / "T100.dat", name="{stem} (batch)")
    assert model.datasets[0].name == "T100 (batch)"


def test_template_commands_apply_when_they_can(superadam: Path, data_folder: Path) -> None:
    """The template's own commands (here det/mon from extra columns) cannot apply to a 3-column file."""
    with pytest.raises(DataFileError, match=r"T300.dat: the template's y command 'det/mon' uses 'det'"):
        loaded(superadam, data_folder / "T300.dat", commands="template")
    model = GenxModel.load(superadam)
    model.model.data[0].y_command = "y*2"
    load_into_dataset(model, "NeutronData", str(data_folder / "T300.dat"))
    np.testing.assert_allclose(model.model.data[0].y, 2 * file_columns(data_folder / "T300.dat")[:, 1])
    model.model.data[0].y_command = "y*2"
    load_into_dataset(model, 0, str(data_folder / "T300.dat"), options={"commands": "loader"})
    np.testing.assert_allclose(model.model.data[0].y, file_columns(data_folder / "T300.dat")[:, 1])


def test_orso_file_loads_with_auto_and_orso(superadam: Path, tmp_path: Path) -> None:
    from orsopy import fileio

    x, y = simulate_curve(superadam, 1200.0)
    info = fileio.Orso.empty()
    info.data_source.sample.name = "SiO"
    info.data_set = "spin up"
    info.data_source.sample.sample_parameters = {"temperature": fileio.base.Value(250.0, "K")}
    info.columns = [fileio.Column("Qz", "1/angstrom"), fileio.Column("R"), fileio.ErrorColumn("R")]
    path = tmp_path / "T250.ort"
    fileio.save_orso([fileio.OrsoDataset(info, np.column_stack([x, y, 0.03 * y]))], str(path))
    for loader in ("auto", "orso"):
        model = loaded(superadam, path, loader)
        np.testing.assert_allclose(model.model.data[0].x, x)
        np.testing.assert_allclose(model.model.data[0].y, y)
        assert model.datasets[0].name == "NeutronData"
    assert read_header_value(path, "temperature") == 250.0
    assert read_header_value(path, "data_source.sample.sample_parameters.temperature") == 250.0


def test_corrupt_file_fails_with_the_loaders_reason(superadam: Path, tmp_path: Path) -> None:
    path = tmp_path / "T300.dat"
    path.write_text("# temperature: 300\n0.1 0.5 0.01\n0.2 zero 0.01\n", encoding="utf-8")
    model = GenxModel.load(superadam)
    before = np.array(model.model.data[0].y)
    with pytest.raises(DataFileError) as caught:
        load_into_dataset(model, 0, str(path), "default")
    message = str(caught.value)
    assert message.startswith("T300.dat: could not read the file: numpy.loadtxt: ")
    assert "row 1, column 2" in message, "where the problem is"
    assert "zero" not in message and str(tmp_path) not in message, "never what the file holds"
    np.testing.assert_array_equal(model.model.data[0].y, before)  # the template is unchanged


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("# only a header\n", "the file has 0 data points"),
        ("0.1 nan 0.1\n0.2 nan 0.1\n", "no finite y value among its 2 points"),
        ("q r dr\n0.1 1 1\n", "could not read the file: numpy.loadtxt: could not convert a text value to"),
    ],
)
def test_files_without_usable_points_fail(superadam: Path, tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "broken.dat"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"^broken.dat: .*({reason})"):
        loaded(superadam, path, "default")


def test_missing_file_unknown_data_set_unknown_loader_and_option(superadam: Path, data_folder: Path) -> None:
    model = GenxModel.load(superadam)
    with pytest.raises(DataFileError, match=r"^nope.dat: no such file"):
        load_into_dataset(model, 0, str(data_folder / "nope.dat"))
    with pytest.raises(ModelContentError, match=r"data set 'Neutron' is not in the model.*0 'NeutronData'"):
        load_into_dataset(model, "Neutron", str(data_folder / "T20.dat"))
    with pytest.raises(ModelContentError, match=r"data set 3 is not in the model"):
        load_into_dataset(model, 3, str(data_folder / "T20.dat"))
    with pytest.raises(DataFileError, match=r"unknown data loader 'csv'"):
        load_into_dataset(model, 0, str(data_folder / "T20.dat"), "csv")
    with pytest.raises(DataFileError, match=r"has no option 'x_coll'.*x_col"):
        load_into_dataset(model, 0, str(data_folder / "T20.dat"), "default", {"x_coll": 1})
    with pytest.raises(DataFileError, match=r"cannot run headless"):
        load_into_dataset(model, 0, str(data_folder / "T20.dat"), "specloader")


def test_format_loaders_refuse_other_files_instead_of_hanging(superadam: Path, data_folder: Path) -> None:
    """GenX's Seifert loader loops forever on a file without its header; its own check runs first."""
    assert {"default", "auto", "orso", "resolution", "seifert_nja"} <= set(loader_names())
    with pytest.raises(DataFileError, match=r"T20.dat: not a file the seifert_nja loader reads"):
        loaded(superadam, data_folder / "T20.dat", "seifert_nja")


def test_header_values(tmp_path: Path, data_folder: Path) -> None:
    assert read_header_value(data_folder / "T100.dat", "temperature") == 100.0
    assert read_header_value(data_folder / "T100.dat", "RUN") == 899.0
    path = tmp_path / "h.dat"
    path.write_text("% T = -1.5e2\n# field (mT): 12.5\n# sample: Fe\n0 1 1\n", encoding="utf-8")
    assert read_header_value(path, "T") == -150.0
    assert read_header_value(path, "field") == 12.5
    with pytest.raises(DataFileError, match=r"h.dat: no header value for 'sample'"):
        read_header_value(path, "sample")
    with pytest.raises(DataFileError, match=r"h.dat: no header value for 'pressure'"):
        read_header_value(path, "pressure")


def test_column_values(data_folder: Path) -> None:
    path = data_folder / "T20.dat"
    columns = file_columns(path)
    assert column_value(path, 0) == pytest.approx(columns[:, 0].mean())
    assert column_value(path, "dR") == pytest.approx(columns[:, 2].mean())
    with pytest.raises(DataFileError, match=r"no column named 'T'"):
        column_value(path, "T")
    with pytest.raises(DataFileError, match=r"has 3 columns, no column 5"):
        column_value(path, 5)


def test_resolution_column(superadam: Path, data_folder: Path, tmp_path: Path) -> None:
    columns = file_columns(data_folder / "T20.dat")
    path = tmp_path / "with_res.dat"
    resolution = np.full(columns.shape[0], 0.02)
    np.savetxt(path, np.column_stack([columns, resolution]), header="2theta R dR res")
    for loader, options in (("resolution", {}), ("auto", {"res_col": 3})):
        model = loaded(superadam, path, loader, **options)
        np.testing.assert_allclose(model.model.data[0].extra_data["res"], resolution)
        np.testing.assert_allclose(model.model.data[0].y, columns[:, 1])
