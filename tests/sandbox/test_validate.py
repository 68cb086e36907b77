"""Uploads are checked before anything runs: size, HDF5 groups and links, zip members and sizes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import h5py
import pytest

from metagenx.engine.files import ModelFormat
from metagenx.engine.model import GenxModel
from metagenx.errors import ModelFileError
from metagenx.sandbox import validate_model_upload


def test_genx_files_pass(superadam: Path, tmp_path: Path) -> None:
    assert validate_model_upload(superadam) is ModelFormat.HGX
    gx = GenxModel.load(superadam).save(tmp_path / "copy.gx")
    assert validate_model_upload(gx) is ModelFormat.GX


def test_an_upload_over_the_size_limit_is_refused(superadam: Path) -> None:
    with pytest.raises(ModelFileError, match="more than the upload limit of 1 KiB"):
        validate_model_upload(superadam, max_bytes=1024)


def test_hdf5_without_genx_groups_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.hgx"
    with h5py.File(path, "w") as handle:
        handle.create_group("something")
    with pytest.raises(ModelFileError, match="lacks 'current'"):
        validate_model_upload(path)


def test_hdf5_with_a_link_to_another_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "linked.hgx"
    with h5py.File(path, "w") as handle:
        current = handle.create_group("current")
        current.create_group("data")
        current["parameters"] = h5py.ExternalLink("/etc/shadow", "/")
        current["script"] = "pass"
    with pytest.raises(ModelFileError, match="ExternalLink"):
        validate_model_upload(path)


def test_not_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.hgx"
    path.write_text("hello")
    with pytest.raises(ModelFileError, match="not an HDF5 file"):
        validate_model_upload(path)


def test_a_zip_bomb_is_refused_without_unpacking_it(superadam: Path, tmp_path: Path) -> None:
    plain = GenxModel.load(superadam).save(tmp_path / "plain.gx")
    bomb = tmp_path / "bomb.gx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if info.filename == "data":
                with out.open("data", "w", force_zip64=True) as stream:
                    for _ in range(100):
                        stream.write(bytes(2**20))
            else:
                out.writestr(info.filename, source.read(info.filename))
    assert bomb.stat().st_size < 2**20
    with pytest.raises(ModelFileError, match="zip bomb"):
        validate_model_upload(bomb)


def test_a_zip_without_genx_members_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.gx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(ModelFileError, match="lacks the member"):
        validate_model_upload(path)
