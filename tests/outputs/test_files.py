"""Atomic writes: a target is always its old or its new complete self, never a torn file."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from metagenx.errors import OutputError
from metagenx.outputs.files import Staging, Writer, reason, write_atomic


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files the writer may have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def fail_half_way(error: OSError) -> Writer:
    """A writer that writes some bytes, then fails like a full disk would."""

    def write(path: Path) -> None:
        with path.open("wb") as handle:
            handle.write(b"partial")
            raise error

    return write


def test_write_atomic_creates_and_replaces_with_normal_permissions(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "result.json"
    write_atomic(target, b"first")
    first_inode = target.stat().st_ino
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert target.stat().st_ino != first_inode  # replaced by rename, not rewritten in place
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # umask applies, not mkstemp's 0600
    assert leftovers(tmp_path) == []


def test_failed_write_keeps_old_file_and_says_why_in_one_line(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    target.write_bytes(b"good old result")
    staging = Staging()
    with pytest.raises(OutputError) as caught:
        staging.add(target, fail_half_way(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    assert str(caught.value) == f"cannot write {target}: No space left on device"
    assert staging.staged == []
    assert target.read_bytes() == b"good old result"
    assert leftovers(tmp_path) == []


def test_staging_replaces_all_files_or_none(tmp_path: Path) -> None:
    first, second = tmp_path / "parameters.csv", tmp_path / "result.json"
    first.write_bytes(b"old csv")
    second.write_bytes(b"old json")
    with pytest.raises(OutputError, match=r"result\.json: Permission denied"), Staging() as staging:
        staging.add_bytes(first, b"new csv")
        staging.add(second, fail_half_way(PermissionError(errno.EACCES, "Permission denied")))
    assert first.read_bytes() == b"old csv"  # written, but never renamed: the group failed
    assert second.read_bytes() == b"old json"
    assert leftovers(tmp_path) == []


def test_an_error_in_the_block_discards_everything_staged(tmp_path: Path) -> None:
    target = tmp_path / "fit.png"
    with pytest.raises(KeyboardInterrupt), Staging() as staging:
        staging.add_bytes(target, b"png")
        raise KeyboardInterrupt
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_a_failing_content_function_is_a_write_error_naming_the_target(tmp_path: Path) -> None:
    def broken() -> bytes:
        raise ValueError("cannot draw\nthis")

    with pytest.raises(OutputError) as caught, Staging() as staging:
        staging.add_bytes(tmp_path / "fit.png", broken)
    assert str(caught.value) == f"cannot write {tmp_path / 'fit.png'}: ValueError: cannot draw this"
    assert isinstance(caught.value.__cause__, ValueError)  # the traceback stays reachable (--debug)
    assert leftovers(tmp_path) == []


def test_missing_folder_and_file_as_folder_are_reported(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="No such file or directory"):
        write_atomic(tmp_path / "missing" / "result.json", b"x")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError, match=r"file/result\.json: Not a directory"):
        write_atomic(tmp_path / "file" / "result.json", b"x")


def test_a_rename_onto_a_directory_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "result.json").mkdir()
    with pytest.raises(OutputError, match=r"result\.json: Is a directory"):
        write_atomic(tmp_path / "result.json", b"x")
    assert leftovers(tmp_path) == []


def test_reason_prefers_the_os_words_over_long_library_messages() -> None:
    hdf5 = OSError(
        errno.EFBIG, "Unable to extend file properly, errno = 27, error message = 'file too large'\n(...)"
    )
    assert reason(hdf5) == "File too large"
    wrapped = OutputError("cannot write /tmp/.x.1234.tmp.hgx: ...")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert reason(wrapped) == "No space left on device"
    assert reason(RuntimeError("x" * 1000)).endswith("…")
    assert len(reason(RuntimeError("x" * 1000))) == 300
