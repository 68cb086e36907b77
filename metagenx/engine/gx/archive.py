"""Read the members of a ``.gx`` zip archive with bounded sizes.

A ``.gx`` file is a zip archive whose members (``data``, ``parameters``, ``script``,
``fomfunction``, ``optimizer``, ``config``) are each a few kB to a few MB. A hostile
archive can declare, or decompress to, gigabytes: this module refuses such files
from the zip directory before anything is decompressed, and counts the bytes while
decompressing in case the directory lies.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from metagenx.errors import ModelFileError

MiB = 1024 * 1024

MEMBERS = ("data", "parameters", "script", "fomfunction", "optimizer", "config")
"""The members metagenx reads; any other member of the archive is ignored."""

REQUIRED = ("data", "parameters", "script", "fomfunction")
"""Members without which a file is not a GenX model (``optimizer`` and ``config`` are optional)."""

ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
"""Compression methods accepted: GenX writes ``stored``; ``deflated`` appears after re-zipping by hand."""

CHUNK = 1 * MiB


@dataclass(frozen=True)
class ArchiveLimits:
    """Upper bounds on what a ``.gx`` archive may hold.

    Attributes:
        member_bytes: largest uncompressed size of one member, in bytes.
        total_bytes: largest uncompressed size of all members read together, in bytes.
        entries: largest number of entries in the zip directory.
    """

    member_bytes: int = 256 * MiB
    total_bytes: int = 512 * MiB
    entries: int = 1000


DEFAULT_LIMITS = ArchiveLimits()


def read_members(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> dict[str, bytes]:
    """Return the GenX members of the archive at ``path``, uncompressed.

    Promises: the directory was checked against ``limits`` before any member was
    decompressed; no member returned is larger than ``limits.member_bytes`` and all
    together are not larger than ``limits.total_bytes``; every member required by
    GenX is present. Raises :class:`ModelFileError` naming the problem otherwise
    (not a zip, truncated, encrypted, oversized, corrupt).
    """
    name = path.name
    try:
        archive = zipfile.ZipFile(path, "r")
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{name} is not a readable zip archive (truncated or corrupt?): {exc}") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    with archive:
        infos = check_directory(archive, name, limits)
        members: dict[str, bytes] = {}
        total = 0
        for member, info in infos.items():
            budget = min(limits.member_bytes, limits.total_bytes - total)
            members[member] = read_member(archive, info, name, budget)
            total += len(members[member])
    return members


def check_directory(archive: zipfile.ZipFile, name: str, limits: ArchiveLimits) -> dict[str, zipfile.ZipInfo]:
    """Check the zip directory alone (nothing decompressed) and return the members to read."""
    infos = archive.infolist()
    if len(infos) > limits.entries:
        raise ModelFileError(
            f"{name} has {len(infos)} entries in its zip directory; a GenX model has about 6 "
            f"(limit {limits.entries})"
        )
    wanted: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if info.filename in MEMBERS:
            if info.filename in wanted:
                raise ModelFileError(
                    f"{name} holds the member {info.filename!r} twice; refusing an ambiguous file"
                )
            wanted[info.filename] = info
    missing = [m for m in REQUIRED if m not in wanted]
    if missing:
        raise ModelFileError(
            f"{name} is a zip archive but not a GenX model: it lacks the member(s) {', '.join(missing)}"
        )
    total = 0
    for info in wanted.values():
        if info.flag_bits & 0x1:
            raise ModelFileError(
                f"{name}: member {info.filename!r} is encrypted; GenX never writes encrypted files"
            )
        if info.compress_type not in ALLOWED_METHODS:
            raise ModelFileError(
                f"{name}: member {info.filename!r} uses zip compression method {info.compress_type}, "
                "which GenX never writes"
            )
        if info.file_size > limits.member_bytes:
            raise ModelFileError(
                f"{name}: member {info.filename!r} would unpack to {info.file_size / MiB:.0f} MiB, "
                f"more than the limit of {limits.member_bytes / MiB:.0f} MiB per member (zip bomb?)"
            )
        total += info.file_size
    if total > limits.total_bytes:
        raise ModelFileError(
            f"{name} would unpack to {total / MiB:.0f} MiB, more than the limit of "
            f"{limits.total_bytes / MiB:.0f} MiB (zip bomb?)"
        )
    return wanted


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: int) -> bytes:
    """Decompress one member in chunks, stopping as soon as it exceeds ``budget`` bytes."""
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info, "r") as stream:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > budget or size > info.file_size:
                    raise ModelFileError(
                        f"{name}: member {info.filename!r} unpacks to more bytes than its zip directory "
                        f"declares or the size limit allows; refusing it (zip bomb?)"
                    )
                chunks.append(chunk)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ModelFileError(
            f"{name}: member {info.filename!r} cannot be unpacked (truncated or corrupt file?): {exc}"
        ) from None
    if size != info.file_size:
        raise ModelFileError(
            f"{name}: member {info.filename!r} unpacked to {size} bytes instead of {info.file_size}; "
            "the file is truncated or corrupt"
        )
    return b"".join(chunks)
