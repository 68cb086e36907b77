"""Details of reading: optional members, Python 2 text, Python 2 new-style pickles, settings precedence."""

from __future__ import annotations

from pathlib import Path

from metagenx.engine.gx import read_gx
from metagenx.engine.gx.standins import DataSetStandIn
from metagenx.engine.gx.unpickler import safe_loads
from metagenx.engine.model import GenxModel
from tests.gx.conftest import MakeGx, members_of, write_gx


def test_file_without_optimizer_and_config_takes_genx3_defaults(genx2_dir: Path, tmp_path: Path) -> None:
    members = members_of(genx2_dir / "Peakfit_Gauss.gx")
    del members["optimizer"], members["config"]
    model = GenxModel.load(write_gx(tmp_path / "bare.gx", members))
    settings = model.optimizer_settings
    assert (settings["km"], settings["kr"], settings["use_pop_mult"]) == (0.7, 0.7, True)
    assert model.fom_name == "chi2bars" and read_gx(tmp_path / "bare.gx").fit_state is None


def test_config_settings_win_over_the_genx2_optimizer_pickle(genx2_dir: Path, tmp_path: Path) -> None:
    members = members_of(genx2_dir / "X-ray_Reflectivity.gx")
    members["config"] = (
        members["config"].replace(b"km = 0.6", b"km = 0.8").replace(b"pop size = 50", b"pop size = x")
    )
    model = GenxModel.load(write_gx(tmp_path / "edited.gx", members))
    assert model.optimizer_settings["km"] == 0.8
    assert model.optimizer_settings["pop_size"] == 50  # GenX 3's default; the bad value is reported
    assert any("pop_size = 'x' is not valid" in note for note in model.notes)


def test_python2_utf8_byte_strings_become_text(make_gx: MakeGx, genx2_dir: Path) -> None:
    data = members_of(genx2_dir / "X-ray_Reflectivity.gx")["data"]
    assert b"VSpecular\n" in data  # a Python 2 unicode string; make it a UTF-8 byte string (opcode S)
    path = make_gx(data=data.replace(b"VSpecular\n", b"S'Sp\\xc3\\xa9cular \\xc3\\x85'\n"))
    assert GenxModel.load(path).datasets[0].name == "Spécular Å"


def test_python2_new_style_class_pickle() -> None:
    pickled = b"ccopy_reg\n_reconstructor\n(cdata\nDataSet\nc__builtin__\nobject\nNtR(dS'name'\nS'x'\nsb."
    value, names = safe_loads(pickled, "test")
    assert isinstance(value, DataSetStandIn) and value.state == {"name": "x"}
    assert names == {"copyreg._reconstructor", "data.DataSet", "builtins.object"}
