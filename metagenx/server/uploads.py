"""Uploads: a size limit on every request body, and model files checked before anything uses them.

:class:`BodyLimit` answers 413 as soon as a body is announced or turns out to be larger
than the limit, before it is read to the end. :func:`save_model` has an uploaded model
checked in the sandbox (:meth:`metagenx.untrusted.UntrustedReader.check_model`) in a private
staging folder, and only then files it under its content hash, ``uploads/<sha256>.<ext>``:
the same bytes uploaded twice are one file, so the jobs made from them have the same keys.
The model is never opened, loaded or unpickled in the server's own process.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metagenx.engine.files import model_format
from metagenx.errors import ModelFileError
from metagenx.server.settings import MIB
from metagenx.untrusted.reader import UntrustedReader

UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]+")
CHUNK = 1 << 20


def too_large(limit: int) -> HTTPException:
    return HTTPException(
        413,
        f"the upload is larger than the server's limit of {limit / MIB:.3g} MiB (METAGENX_MAX_UPLOAD_MB)",
    )


class BodyLimit:
    """ASGI middleware: request bodies above ``limit`` bytes get 413 with a JSON reason."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self.refuse(send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise too_large(self.limit)  # FastAPI passes HTTPExceptions from body reading on
            return message

        await self.app(scope, limited, send)

    async def refuse(self, send: Send) -> None:
        body = json.dumps({"detail": too_large(self.limit).detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def json_object(text: str, field: str) -> dict[str, Any]:
    """A form field holding a JSON object, parsed; 422 naming ``field`` otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise HTTPException(422, f"{field} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise HTTPException(422, f"{field} must be a JSON object, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class SavedFile:
    """An uploaded file on disk: where, its SHA-256, the (cleaned) name it was uploaded as, bytes."""

    path: Path
    sha256: str
    name: str
    size: int


def clean_name(filename: str | None, fallback: str = "upload") -> str:
    """A file-system safe base name for an uploaded file's name (no folders, no odd characters)."""
    name = UNSAFE.sub("_", Path((filename or "").replace("\\", "/")).name).strip("._")
    return name[:120] or fallback


def save_model(
    source: BinaryIO,
    filename: str | None,
    uploads: Path,
    reader: UntrustedReader,
    *,
    max_bytes: int = 50 * 1024**2,
) -> SavedFile:
    """Check an uploaded model (in the sandbox, by ``reader``) and file it as ``uploads/<sha256>.<ext>``.

    The check (:func:`metagenx.sandbox.validate_model_upload`) runs no code from the file:
    an HDF5 ``.hgx`` must hold GenX's groups, plain links, bounded data and allowed pickles; a
    zip ``.gx`` GenX's members within bounded uncompressed sizes. Raises :class:`ModelFileError`
    (422) naming the upload otherwise, and :class:`~metagenx.sandbox.SandboxUnavailableError`
    (503) when the server cannot set its sandbox up.
    """
    name = clean_name(filename, "model")
    staging = uploads / ".incoming" / secrets.token_hex(8)
    staging.mkdir(parents=True)
    try:
        staged = staging / name
        digest, size = copy_hashing(source, staged)
        if size == 0:
            raise ModelFileError(f"the uploaded model {name} is empty")
        if size > max_bytes:
            raise ModelFileError(f"the uploaded model {name} is larger than the upload limit")
        model_format(staged)  # the extension and the first bytes, before a sandbox is started
        kind = reader.check_model(staged, max_bytes)
        target = uploads / f"{digest}.{kind.value}"
        if not target.exists():
            os.replace(staged, target)
        return SavedFile(target, digest, name, size)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_file(source: BinaryIO, target: Path) -> SavedFile:
    """Write an uploaded file to ``target`` (atomically) and return its checksum."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        digest, size = copy_hashing(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return SavedFile(target, digest, target.name, size)


def copy_hashing(source: BinaryIO, target: Path) -> tuple[str, int]:
    """Copy ``source`` to a new file ``target``; return its SHA-256 and size in bytes."""
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    with target.open("xb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def hash_stream(source: BinaryIO) -> str:
    """SHA-256 (hex) of a whole stream, read from its start."""
    digest = hashlib.sha256()
    source.seek(0)
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` hold ``source``'s bytes: a hard link where possible, else a copy."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
