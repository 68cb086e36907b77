"""Checks on a model file before GenX touches it: existence, extension, container format."""

from __future__ import annotations

import os
import zipfile
from enum import StrEnum
from pathlib import Path

from metagenx.errors import ModelFileError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class ModelFormat(StrEnum):
    HGX = "hgx"
    GX = "gx"


def model_format(path: str | os.PathLike[str]) -> ModelFormat:
    """Check that ``path`` is a readable GenX model file and say which kind.

    Promises: the file exists, is a regular file, ends in ``.hgx`` or ``.gx``, and its
    first bytes are those of an HDF5 file (``.hgx``) or a zip archive (``.gx``).
    Raises :class:`ModelFileError` with a human message otherwise.
    """
    file = Path(path)
    if not file.exists():
        raise ModelFileError(f"model file {file} does not exist")
    if not file.is_file():
        raise ModelFileError(f"model path {file} is not a file")
    suffix = file.suffix.lower()
    if suffix not in (".hgx", ".gx"):
        raise ModelFileError(
            f"model file {file.name} has extension {suffix or '(none)'}; GenX models end in .hgx or .gx"
        )
    try:
        with file.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {file}: {exc.strerror}") from exc
    if not head:
        raise ModelFileError(f"model file {file} is empty")
    if suffix == ".hgx":
        if head != HDF5_SIGNATURE:
            raise ModelFileError(f"{file.name} is not an HDF5 file, so it is not a GenX .hgx model")
        return ModelFormat.HGX
    if not zipfile.is_zipfile(file):
        hint = " (it looks like HDF5: rename it to .hgx)" if head == HDF5_SIGNATURE else ""
        raise ModelFileError(f"{file.name} is not a zip archive, so it is not a GenX .gx model{hint}")
    return ModelFormat.GX


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Create the parent directory of ``path`` if needed and check it can be written.

    Raises :class:`metagenx.errors.OutputError` naming the path otherwise.
    """
    from metagenx.errors import OutputError

    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {target.parent}: {exc.strerror}") from exc
    if target.exists() and target.is_dir():
        raise OutputError(f"output path {target} is a directory; give a file name ending in .hgx or .gx")
    if not os.access(target.parent, os.W_OK):
        raise OutputError(f"output directory {target.parent} is not writable")
    return target
