"""The one directory a sandboxed fit may write: handed to its uid before, taken back after.

The study directory is mounted writable, but the runner's uid owns nothing in it except
the directory of the job it is running right now. When the job ends, the directory and
everything in it is given back to the server's uid, and anything that is not a plain
file or folder (a symlink that could point the server at ``/etc/shadow``, a fifo) is
removed. Symlinks are never followed here.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from metagenx.errors import OutputError


def walk(top: Path) -> list[tuple[Path, os.stat_result]]:
    """Everything under ``top`` (not ``top`` itself), deepest first, without following symlinks."""
    found: list[tuple[Path, os.stat_result]] = []
    todo = [top]
    while todo:
        current = todo.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found.append((Path(entry.path), info))
            if stat.S_ISDIR(info.st_mode):
                todo.append(Path(entry.path))
    found.sort(key=lambda item: len(item[0].parts), reverse=True)
    return found


def remove(path: Path, info: os.stat_result) -> None:
    try:
        if stat.S_ISDIR(info.st_mode):
            os.rmdir(path)
        else:
            os.unlink(path)
    except OSError:
        pass


def make_directory(path: Path) -> None:
    """Create ``path`` as a real directory, replacing a symlink or file in its place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        os.mkdir(path, 0o755)
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        os.mkdir(path, 0o755)


def hand_over(job_dir: Path, uid: int, gid: int) -> None:
    """Create ``job_dir`` if needed and give it, and what an earlier attempt left in it, to ``uid``."""
    try:
        make_directory(job_dir)
        for path, info in walk(job_dir):
            if stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode):
                os.chown(path, uid, gid, follow_symlinks=False)
            else:
                remove(path, info)
        os.chown(job_dir, uid, gid, follow_symlinks=False)
        os.chmod(job_dir, 0o755, follow_symlinks=False)
    except OSError as exc:
        raise OutputError(f"cannot prepare output directory {job_dir}: {exc.strerror or exc}") from exc


def take_back(job_dir: Path, uid: int, gid: int) -> None:
    """Give ``job_dir`` and its contents to ``uid``/``gid`` (the server); remove all but files and folders."""
    try:
        info = os.lstat(job_dir)
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode):
        return
    for path, entry in walk(job_dir):
        if stat.S_ISDIR(entry.st_mode) or stat.S_ISREG(entry.st_mode):
            try:
                os.chown(path, uid, gid, follow_symlinks=False)
                os.chmod(path, stat.S_IMODE(entry.st_mode) & 0o755, follow_symlinks=False)
            except (OSError, NotImplementedError):
                remove(path, entry)
        else:
            remove(path, entry)
    with contextlib.suppress(OSError):
        os.chown(job_dir, uid, gid, follow_symlinks=False)
