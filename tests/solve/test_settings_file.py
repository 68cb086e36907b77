"""Settings files: written by tune, read by --settings; explicit options win over the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from metagenx.cli.options import given_settings
from metagenx.engine.settings import FitSettings
from metagenx.errors import SettingsError
from metagenx.solve.settings import SolveSettings, start_settings
from metagenx.solve.settings_file import read_settings_file, write_settings_file


def test_a_written_file_reads_back_the_same(tmp_path: Path) -> None:
    fit = {"km": 0.71, "kr": 0.93, "population": 24, "strategy": "rand_1_bin", "polish": True, "seed": None}
    path = write_settings_file(tmp_path / "best.toml", fit, {"margin": 0.3, "grace": 12}, "tuned\non two")
    read = read_settings_file(path)
    assert read.fit == {k: v for k, v in fit.items() if v is not None}
    assert read.solve == {"margin": 0.3, "grace": 12}
    assert path.read_text().startswith("# tuned\n# on two\n")
    assert FitSettings.from_dict(read.fit).population == 24


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fit]\nkm = 3.0\n", "km=3.0 is outside"),
        ("[fit]\nspeed = 1\n", "unknown [fit] setting 'speed'"),
        ("[solver]\nmargin = 1\n", "unknown table [solver]"),
        ("[fit\n", "not valid TOML"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"bad\.toml") as caught:
        read_settings_file(path)
    assert message in str(caught.value)


def test_explicit_options_override_the_file(tmp_path: Path) -> None:
    path = write_settings_file(tmp_path / "s.toml", {"km": 0.8, "kr": 0.9, "window": 40}, {"margin": 0.2})
    values = {"km": 0.5, "kr": None, "window": 100, "tolerance": 1e-4, "settings_file": path}
    given = given_settings(values)  # no click context: values differing from their defaults are explicit
    assert given.fit == {"km": 0.5, "kr": 0.9, "window": 40}
    assert given.solve == {"margin": 0.2}
    solve = SolveSettings.from_dict({**given.solve, "fit": start_settings(given.fit)})
    assert solve.margin == 0.2 and solve.fit.km == 0.5 and solve.fit.polish is True
