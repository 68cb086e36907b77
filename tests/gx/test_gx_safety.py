"""Hostile and damaged .gx files are refused, and nothing in them runs."""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from metagenx.cli import main
from metagenx.engine.gx import read_gx
from metagenx.engine.gx.archive import ArchiveLimits, read_members
from metagenx.engine.gx.unpickler import safe_loads
from metagenx.engine.model import GenxModel
from metagenx.errors import ModelFileError, UnsafeModelFileError
from tests.gx.conftest import MakeGx, members_of, write_gx

MiB = 1024 * 1024


def system_pickle(marker: Path) -> bytes:
    """A protocol-0 pickle that calls ``os.system`` to create ``marker`` when loaded by ``pickle.loads``."""
    return f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()


class Exploit:
    """Pickles to a call of ``os.system`` (module ``posix``) under any protocol."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_the_exploit_pickle_really_runs_under_plain_pickle(tmp_path: Path) -> None:
    """Control: the payload used below does create its file when unpickled the usual way."""
    marker = tmp_path / "control"
    pickle.loads(system_pickle(marker))
    assert marker.exists()


@pytest.mark.parametrize("member", ["data", "parameters", "script", "fomfunction", "optimizer"])
def test_forbidden_global_is_refused_and_nothing_runs(make_gx: MakeGx, tmp_path: Path, member: str) -> None:
    marker = tmp_path / f"pwned-{member}"
    path = make_gx(**{member: system_pickle(marker)})
    with pytest.raises(UnsafeModelFileError, match=r"os\.system") as caught:
        GenxModel.load(path)
    assert f"member {member!r}" in str(caught.value)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_forbidden_global_is_refused_under_every_protocol(
    make_gx: MakeGx, tmp_path: Path, protocol: int
) -> None:
    marker = tmp_path / "pwned"
    path = make_gx(data=pickle.dumps(Exploit(marker), protocol=protocol))
    with pytest.raises(UnsafeModelFileError, match=r"posix\.system"):
        read_gx(path)
    assert not marker.exists()


def test_cli_refuses_the_file_with_a_one_line_message(
    make_gx: MakeGx, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "pwned"
    path = make_gx(parameters=system_pickle(marker))
    for command in (["info", str(path)], ["convert", str(path), str(tmp_path / "out.hgx")]):
        with pytest.raises(SystemExit) as exit_info:
            main(command)
        assert exit_info.value.code == UnsafeModelFileError.exit_code
        assert "os.system" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "out.hgx").exists()


@pytest.mark.parametrize(
    "value",
    [
        np.array([1, "a"], dtype=object),  # object arrays can hold anything
        np.zeros(3, dtype=[("a", "f8")]),  # record dtypes
        np.ma.masked_array([1.0, 2.0]),  # ndarray subclass: numpy.ma.core
        {"f": print},  # a builtin function
    ],
)
def test_dangerous_values_are_refused(value: object) -> None:
    with pytest.raises(UnsafeModelFileError):
        safe_loads(pickle.dumps(value, protocol=2), "test")


def test_huge_empty_array_request_is_refused() -> None:
    data = b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I100000000000\ntS'b'\ntR."
    with pytest.raises(ModelFileError, match="large empty array"):
        safe_loads(data, "test")


def test_plain_values_and_arrays_round_trip() -> None:
    value = {
        "a": [1, 2.5, True, None, "x", b"y", (1j,)],
        "b": np.arange(5.0),
        "c": np.float64(2.0),
        "d": {1, 2},
    }
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        loaded, _ = safe_loads(pickle.dumps(value, protocol=protocol), "test")
        assert np.array_equal(loaded.pop("b"), value["b"])
        assert loaded == {k: v for k, v in value.items() if k != "b"}


def test_a_member_of_the_wrong_kind_is_named(make_gx: MakeGx) -> None:
    with pytest.raises(ModelFileError, match="should hold a GenX DataList but holds dict"):
        read_gx(make_gx(data=pickle.dumps({"items": []}, protocol=0)))


def test_missing_member(genx2_dir: Path, tmp_path: Path) -> None:
    members = members_of(genx2_dir / "X-ray_Reflectivity.gx")
    del members["parameters"]
    with pytest.raises(ModelFileError, match=r"lacks the member.*parameters"):
        GenxModel.load(write_gx(tmp_path / "no_parameters.gx", members))


def test_truncated_zip(genx2_dir: Path, tmp_path: Path) -> None:
    raw = (genx2_dir / "X-ray_Reflectivity.gx").read_bytes()
    path = tmp_path / "truncated.gx"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="zip"):
        GenxModel.load(path)
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        read_gx(path)


def test_corrupt_member_is_refused(genx2_dir: Path, tmp_path: Path) -> None:
    raw = bytearray((genx2_dir / "X-ray_Reflectivity.gx").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo("data")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start + 100 : start + 120] = b"\x00" * 20  # damage the stored bytes, keep the directory
    path = tmp_path / "corrupt.gx"
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="cannot be unpacked"):
        read_gx(path)


def zip_with_declared_size(path: Path, member: str, data: bytes, declared: int) -> Path:
    """A deflated zip whose directory claims ``declared`` uncompressed bytes for ``member`` (a lie)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, data)
        for name in ("parameters", "script", "fomfunction"):
            archive.writestr(name, b"N.")
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo(member)
    struct.pack_into("<I", raw, info.header_offset + 22, declared)  # local header: uncompressed size
    central = raw.find(b"PK\x01\x02")
    while raw[central + 46 : central + 46 + len(member)] != member.encode():
        central = raw.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", raw, central + 24, declared)  # central directory: uncompressed size
    path.write_bytes(bytes(raw))
    return path


def test_zip_bomb_is_refused_from_the_directory_before_decompressing(tmp_path: Path) -> None:
    # The directory claims 600 MiB; the stored bytes are not even valid deflate data, so any
    # attempt to decompress would fail with another message: the refusal comes first.
    path = zip_with_declared_size(tmp_path / "bomb.gx", "data", b"x" * 1000, 600 * MiB)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo("data")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    raw[start : start + info.compress_size] = b"\xff" * info.compress_size
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="would unpack to 600 MiB"):
        GenxModel.load(path)


def test_real_zip_bomb_over_the_limits(tmp_path: Path) -> None:
    bomb = bytes(8 * MiB)  # deflates to ~8 kB
    path = tmp_path / "bomb.gx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("data", "parameters", "script", "fomfunction"):
            archive.writestr(name, bomb)
    assert path.stat().st_size < 200_000
    with pytest.raises(ModelFileError, match="per member"):
        read_members(path, ArchiveLimits(member_bytes=4 * MiB, total_bytes=64 * MiB))
    with pytest.raises(ModelFileError, match=r"would unpack to 32 MiB, more than the limit of 16 MiB"):
        read_members(path, ArchiveLimits(member_bytes=16 * MiB, total_bytes=16 * MiB))


def test_directory_understating_a_member_is_caught_while_reading(tmp_path: Path) -> None:
    compressed = zlib.compress(bytes(4 * MiB))
    assert len(compressed) < 10_000
    path = zip_with_declared_size(tmp_path / "liar.gx", "data", bytes(4 * MiB), 1000)
    with pytest.raises(ModelFileError, match="data"):
        read_members(path, ArchiveLimits(member_bytes=2 * MiB))


def test_encrypted_member_flag_is_refused(genx2_dir: Path, tmp_path: Path) -> None:
    raw = bytearray((genx2_dir / "Peakfit_Gauss.gx").read_bytes())
    central = raw.find(b"PK\x01\x02")
    flags = struct.unpack_from("<H", raw, central + 8)[0]
    struct.pack_into("<H", raw, central + 8, flags | 0x1)
    path = tmp_path / "encrypted.gx"
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="encrypted"):
        read_gx(path)
