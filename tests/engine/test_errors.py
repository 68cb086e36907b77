"""Bad input gets a one-line human error naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import metagenx
from metagenx.engine.model import GenxModel
from metagenx.errors import ModelContentError, ModelFileError, ModelScriptError
from tests.conftest import EditModel, sha256


def one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(error.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError) as error:
        GenxModel.load(tmp_path / "nope.hgx")
    assert "does not exist" in one_line(error)


def test_wrong_extension(tmp_path: Path) -> None:
    path = tmp_path / "model.txt"
    path.write_text("hello")
    with pytest.raises(ModelFileError) as error:
        GenxModel.load(path)
    assert ".hgx or .gx" in one_line(error)


@pytest.mark.parametrize(("name", "expected"), [("m.hgx", "not an HDF5 file"), ("m.gx", "not a zip archive")])
def test_not_hdf5_or_zip(tmp_path: Path, name: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text("Q R dR\n0.01 1.0 0.1\n")
    with pytest.raises(ModelFileError) as error:
        GenxModel.load(path)
    assert expected in one_line(error)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "m.hgx"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError) as error:
        GenxModel.load(path)
    assert "empty" in one_line(error)


def test_truncated_hgx(tmp_path: Path, superadam: Path) -> None:
    data = superadam.read_bytes()
    path = tmp_path / "truncated.hgx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError) as error:
        GenxModel.load(path)
    assert "truncated.hgx" in one_line(error)


def test_hdf5_that_is_not_a_genx_model(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "other.hgx"
    with h5py.File(path, "w") as handle:
        handle["x"] = np.arange(3)
    with pytest.raises(ModelFileError) as error:
        GenxModel.load(path)
    assert "not a GenX model" in one_line(error)


def test_corrupt_hgx_body(tmp_path: Path, superadam: Path) -> None:
    data = bytearray(superadam.read_bytes())
    data[2048:6144] = bytes(4096)
    path = tmp_path / "corrupt.hgx"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        GenxModel.load(path).simulate()


def insert_into_sim(model: GenxModel, statement: str) -> int:
    """Insert ``statement`` as the first line of Sim(); return its 1-based script line."""
    lines = model.script.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("def Sim("))
    lines.insert(index + 1, "    " + statement)
    model.model.set_script("\n".join(lines))
    return index + 2


def test_script_that_raises_names_its_error_and_line(superadam: Path, edited_model: EditModel) -> None:
    line = [0]

    def edit(model: GenxModel) -> None:
        line[0] = insert_into_sim(model, "raise ValueError('thickness must be positive')")

    path = edited_model(superadam, edit, "raises.hgx")
    with pytest.raises(ModelScriptError) as error:
        metagenx.fit(path, seed=1, max_generations=2)
    text = one_line(error)
    assert "ValueError: thickness must be positive" in text
    assert f"script line {line[0]}" in text
    assert error.value.line == line[0]


def test_script_with_a_syntax_error(superadam: Path, edited_model: EditModel) -> None:
    def edit(model: GenxModel) -> None:
        model.model.set_script(model.script + "\ndef broken(:\n    pass\n")

    path = edited_model(superadam, edit, "syntax.hgx")
    with pytest.raises(ModelScriptError) as error:
        GenxModel.load(path).simulate()
    text = one_line(error)
    assert "the model script failed to run" in text and "SyntaxError" in text


def test_no_parameter_marked_to_fit(superadam: Path, edited_model: EditModel) -> None:
    def edit(model: GenxModel) -> None:
        for p in model.parameters:
            model.set_parameter(p.name, fit=False)

    path = edited_model(superadam, edit, "nofit.hgx")
    with pytest.raises(ModelContentError) as error:
        metagenx.fit(path, seed=1, max_generations=2)
    assert "no parameter is marked to fit" in one_line(error)


def test_data_set_without_points(superadam: Path, edited_model: EditModel) -> None:
    def edit(model: GenxModel) -> None:
        dataset = model.model.data[0]
        for attr in ("x_raw", "y_raw", "error_raw", "x", "y", "error"):
            setattr(dataset, attr, np.array([]))

    path = edited_model(superadam, edit, "empty-data.hgx")
    with pytest.raises(ModelContentError) as error:
        metagenx.fit(path, seed=1, max_generations=2)
    assert "data set 0 ('NeutronData') has 0 points" in one_line(error)


def test_bounds_with_min_above_max(superadam: Path, edited_model: EditModel) -> None:
    path = edited_model(superadam, lambda m: m.set_parameter("SiO.setSigma", min=5.0, max=1.0), "bounds.hgx")
    with pytest.raises(ModelContentError) as error:
        metagenx.fit(path, seed=1, max_generations=2)
    assert "SiO.setSigma: min 5 is larger than max 1" in one_line(error)


def test_fitting_never_modifies_the_input_file(superadam: Path, tmp_path: Path) -> None:
    copy = tmp_path / "mine.hgx"
    copy.write_bytes(superadam.read_bytes())
    before = sha256(copy)
    metagenx.fit(copy, seed=1, max_generations=2)
    assert sha256(copy) == before
