"""Checks on an uploaded model before anything uses it; nothing in the file is run.

``.hgx``: an HDF5 file with GenX's groups (``current``, ``current/data``,
``current/parameters``) and script, with plain (hard) links only anywhere in it (an external
or soft link could make a reader open another file), datasets that declare no more than
:data:`MAX_HGX_DATA_BYTES` in all (a few kB of file can declare terabytes), and pickled values
(GenX's ``dump`` datasets) that the allowlist accepts. ``.gx``: a zip archive with GenX's
members, whose directory and real uncompressed sizes stay within bounds (no zip bombs); the
members are decompressed and counted but never unpickled. The server runs these checks in the
sandbox (:mod:`metagenx.untrusted`), as it does loading the model and reading its data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from metagenx.engine.files import ModelFormat, model_format
from metagenx.engine.gx.archive import ArchiveLimits, read_members
from metagenx.errors import MetagenxError, ModelFileError
from metagenx.sandbox.policy import MiB, format_bytes

UPLOAD_ARCHIVE_LIMITS = ArchiveLimits(member_bytes=64 * MiB, total_bytes=128 * MiB, entries=100)
"""Bounds on an uploaded ``.gx``: GenX's own files are a few kB to a few MB."""

HGX_GROUPS = ("current", "current/data", "current/parameters")
HGX_DATASETS = ("current/script",)
MAX_HGX_DATA_BYTES = 512 * MiB
"""Most data an ``.hgx`` may declare in all its datasets (GenX's own files hold a few MB)."""


def validate_model_upload(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = 50 * MiB,
    archive_limits: ArchiveLimits = UPLOAD_ARCHIVE_LIMITS,
) -> ModelFormat:
    """Check the uploaded model at ``path``; return its format.

    Raises :class:`~metagenx.errors.ModelFileError` with a message naming the problem:
    larger than ``max_bytes``, not a GenX file, lacking GenX's groups or members, a
    link out of the file, a zip bomb.
    """
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise ModelFileError(f"cannot read the uploaded model {file.name}: {exc.strerror}") from exc
    if size > max_bytes:
        raise ModelFileError(
            f"the uploaded model {file.name} is {format_bytes(size)}, more than the upload limit of "
            f"{format_bytes(max_bytes)}"
        )
    kind = model_format(file)
    if kind is ModelFormat.HGX:
        check_hgx(file)
    else:
        read_members(file, archive_limits)  # bounded; raises ModelFileError; the bytes are dropped
    return kind


def check_hgx(file: Path) -> None:
    """GenX's groups and script are there; hard links only; bounded data; allowed pickles only."""
    import h5py

    try:
        with h5py.File(file, "r") as handle:
            for name in (*HGX_GROUPS, *HGX_DATASETS):
                check_link(handle, file.name, name)
            check_contents(handle, file.name)
    except OSError as exc:
        raise ModelFileError(
            f"{file.name} is not a readable HDF5 file (truncated or corrupt?): {exc}"
        ) from None


def check_contents(handle: Any, filename: str) -> None:
    """No link anywhere leads to another file, the datasets declare at most :data:`MAX_HGX_DATA_BYTES`,
    and every pickled value passes the allowlist."""
    import h5py

    declared = 0
    problems: list[MetagenxError] = []

    def visit(name: str, link: Any) -> bool | None:
        nonlocal declared
        if not isinstance(link, h5py.HardLink | h5py.SoftLink):
            problems.append(ModelFileError(f"{filename}: {name!r} is a {type(link).__name__}; refused"))
            return True
        item = handle.get(name) if isinstance(link, h5py.HardLink) else None
        if not isinstance(item, h5py.Dataset):
            return None
        declared += int(item.size) * int(item.dtype.itemsize)
        if declared > MAX_HGX_DATA_BYTES:
            problems.append(
                ModelFileError(
                    f"{filename}: its datasets declare more than {format_bytes(MAX_HGX_DATA_BYTES)} of data "
                    f"({name!r} alone {format_bytes(int(item.size) * int(item.dtype.itemsize))}); "
                    "a GenX model holds a few MB. Refused"
                )
            )
            return True
        if item.attrs.get("genx_type") in ("dump", b"dump") or item.dtype.kind == "V":
            from metagenx.engine.gx.hdf5_pickles import loads_plain

            try:
                loads_plain(item[()].tobytes())
            except MetagenxError as exc:
                problems.append(type(exc)(f"{filename}: {name!r}: {exc}"))
                return True
        return None

    handle.visititems_links(visit)  # an exception in the callback would come out mangled
    if problems:
        raise problems[0]


def check_link(handle: Any, filename: str, name: str) -> None:
    """``name`` exists in ``handle``, is a hard link, and is a group (or the script dataset)."""
    import h5py

    group: h5py.Group = handle
    parent, _, leaf = name.rpartition("/")
    container = group[parent] if parent else group
    link = container.get(leaf, getlink=True)
    if link is None:
        raise ModelFileError(f"{filename} is HDF5 but not a GenX model: it lacks {name!r}")
    if not isinstance(link, h5py.HardLink):
        kind = type(link).__name__
        raise ModelFileError(f"{filename}: {name!r} is a {kind}; a GenX model has no links to elsewhere")
    wanted = h5py.Dataset if name in HGX_DATASETS else h5py.Group
    if not isinstance(container[leaf], wanted):
        raise ModelFileError(f"{filename} is HDF5 but not a GenX model: {name!r} is not a {wanted.__name__}")
