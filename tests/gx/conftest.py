"""Fixtures for the .gx reader: the GenX 2 files in the shared test data, and ways to build .gx files."""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

GENX2_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "genx2"
GENX2_FILES = ("Peakfit_Gauss.gx", "SuperAdam_SiO.gx", "X-ray_Reflectivity.gx")


@pytest.fixture(scope="session")
def genx2_dir() -> Path:
    """The GenX 2 example files, read in place (never copied into the project)."""
    if not GENX2_DIR.is_dir():
        pytest.fail(f"GenX 2 test data missing: {GENX2_DIR}")
    return GENX2_DIR


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_gx(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


MakeGx = Callable[..., Path]


@pytest.fixture
def make_gx(tmp_path: Path, genx2_dir: Path) -> MakeGx:
    """A .gx in ``tmp_path``: a GenX 2 file with members replaced (bytes) or another ``script_text``."""

    def make(
        name: str = "X-ray_Reflectivity.gx",
        out: str = "made.gx",
        script_text: str | None = None,
        **replace: bytes,
    ) -> Path:
        members = members_of(genx2_dir / name)
        members.update(replace)
        if script_text is not None:
            members["script"] = pickle.dumps(script_text, protocol=0)
        return write_gx(tmp_path / out, members)

    return make
