"""Atomic file writes: a file is either its old complete self or its new complete self.

Every output is first written to a hidden temporary file in the target's own folder
(``.{name}.{random}.tmp{suffix}``), flushed to disk, and only then renamed over the
target with :func:`os.replace`. A failure (full disk, file-size limit, permission
denied, a crash in the writer) removes the temporary file and leaves the target as
it was; a process killed mid-write can at worst leave a hidden ``*.tmp*`` file behind.

:class:`Staging` extends this to a group of files: all are written first, and renamed
only when every one was written, so a failure leaves the whole previous set in place.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from metagenx.errors import OutputError

Writer = Callable[[Path], object]
"""Writes the whole content of one file to the path it is given (which exists, empty); returns anything."""


def temporary_path(target: Path) -> Path:
    """A fresh, empty, hidden file beside ``target``, same suffix, created with the user's umask.

    Raises OSError if the folder cannot take a new file.
    """
    for _ in range(100):
        candidate = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(descriptor)
        return candidate
    raise FileExistsError(f"no free temporary name beside {target}")  # pragma: no cover - 2^32 names


def sync_file(path: Path) -> None:
    """Flush ``path``'s content to the storage device (so a rename after it is crash-safe)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames) to disk; silently skipped where the OS refuses."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def reason(exc: BaseException, limit: int = 300) -> str:
    """A one-line reason for a failed write: the OS's words where there are some.

    ``OSError`` with an errno gives ``os.strerror`` ("No space left on device"), also
    for h5py's long HDF5 messages; anything else its first ``limit`` characters.
    """
    cause = exc.__cause__
    if isinstance(exc, OutputError) and cause is not None:
        return reason(cause, limit)
    if isinstance(exc, OSError) and isinstance(exc.errno, int) and exc.errno > 0:
        return os.strerror(exc.errno)
    text = " ".join(str(exc).split()) or "(no message)"
    if not isinstance(exc, OSError | OutputError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_error(target: Path, exc: BaseException) -> OutputError:
    """``OutputError("cannot write <target>: <reason>")`` for a failed write of ``target``."""
    return OutputError(f"cannot write {target}: {reason(exc)}")


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def bytes_writer(content: bytes | Callable[[], bytes]) -> Writer:
    """A :data:`Writer` that writes ``content`` (or what ``content()`` returns) as the whole file."""

    def write(path: Path) -> None:
        data = content() if callable(content) else content
        with path.open("wb") as handle:
            handle.write(data)

    return write


class Staging:
    """Write several files so that either all of them are replaced, or none.

    Use as a context manager: :meth:`add` writes each file to its temporary twin at
    once (raising :class:`OutputError` naming the *target* if that fails);
    leaving the block without an exception renames every twin over its target in the
    order added. Leaving it with an exception, or any failure, deletes all twins and
    leaves every target untouched. A rename that fails part-way (rare: renames within
    one folder do not need space) leaves the files renamed before it in place.
    """

    def __init__(self, *, durable: bool = True) -> None:
        self.durable = durable
        """``True``: fsync each file before its rename and the folders after (crash-safe)."""
        self.staged: list[tuple[Path, Path]] = []

    def add(self, target: Path, write: Writer) -> None:
        """Write ``target``'s new content (through ``write``) to a temporary file beside it."""
        try:
            temporary = temporary_path(target)
        except OSError as exc:
            raise write_error(target, exc) from exc
        self.staged.append((temporary, target))
        try:
            write(temporary)
            if self.durable:
                sync_file(temporary)
        except Exception as exc:
            remove_quietly(temporary)
            self.staged.pop()
            raise write_error(target, exc) from exc

    def add_bytes(self, target: Path, content: bytes | Callable[[], bytes]) -> None:
        """Stage ``content`` for ``target``; a callable is called now, a failure in it is a write error."""
        self.add(target, bytes_writer(content))

    def commit(self) -> list[Path]:
        """Rename every staged file over its target; return the targets."""
        done: list[Path] = []
        try:
            while self.staged:
                temporary, target = self.staged[0]
                try:
                    os.replace(temporary, target)
                except OSError as exc:
                    raise write_error(target, exc) from exc
                self.staged.pop(0)
                done.append(target)
        finally:
            self.discard()
        if self.durable:
            for folder in dict.fromkeys(target.parent for target in done):
                sync_folder(folder)
        return done

    def discard(self) -> None:
        """Delete every temporary file not yet renamed."""
        for temporary, _ in self.staged:
            remove_quietly(temporary)
        self.staged = []

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def write_atomic(target: Path, content: bytes, *, durable: bool = True) -> Path:
    """Replace ``target`` with ``content`` atomically; raise :class:`OutputError` on failure."""
    with Staging(durable=durable) as staging:
        staging.add_bytes(target, content)
    return target
