"""Landlock (Linux ≥ 5.13) through raw system calls: read-only everywhere, writable only where told, no TCP.

Applied by the trusted launcher to itself just before it runs the runner; it cannot be
undone, and every process started later inherits it. ABI 4 adds TCP rules (none are
granted: no bind, no connect), ABI 6 adds scoping (no signals to, and no abstract Unix
sockets of, processes outside the sandbox).
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterable

SYS_CREATE_RULESET = 444
SYS_ADD_RULE = 445
SYS_RESTRICT_SELF = 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 16, 32, 64, 128
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 256, 512, 1024, 2048, 4096
REFER, TRUNCATE, IOCTL_DEV = 8192, 16384, 32768
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2

READ = EXECUTE | READ_FILE | READ_DIR
WRITE = WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | REFER | TRUNCATE
"""Writing where allowed: files and folders, but never symlinks, devices, fifos or sockets."""


class LandlockError(OSError):
    """Landlock is missing or refused a step."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _syscall(number: int, *args: object) -> int:
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    result = int(libc.syscall(ctypes.c_long(number), *args))
    if result < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, os.strerror(err))
    return result


def abi_version() -> int:
    """Landlock ABI of the running kernel; 0 when it is missing or disabled."""
    try:
        return _syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except LandlockError:
        return 0


def handled_fs(abi: int) -> int:
    """File-system rights known to the kernel of ``abi``; all are handled, i.e. denied unless granted."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def restrict(readable: Iterable[str], writable: Iterable[str], devices: Iterable[str] = ("/dev",)) -> int:
    """Restrict this process (and its future children) for good; return the ABI used.

    ``readable``: trees that may be read and executed; ``writable``: trees that may also
    be written; ``devices``: trees whose files may be read and written (``/dev/null``).
    TCP bind and connect are denied (ABI ≥ 4), as are signals to and abstract sockets
    of processes outside (ABI ≥ 6). Raises :class:`LandlockError` if Landlock is missing.
    """
    abi = abi_version()
    if abi < 1:
        raise LandlockError(0, "Landlock is not available in this kernel")
    fs = handled_fs(abi)
    if abi >= 6:
        scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        attr = struct.pack("=QQQ", fs, NET_BIND_TCP | NET_CONNECT_TCP, scoped)
    elif abi >= 4:
        attr = struct.pack("=QQ", fs, NET_BIND_TCP | NET_CONNECT_TCP)
    else:
        attr = struct.pack("=Q", fs)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(SYS_CREATE_RULESET, buffer, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    try:
        for paths, rights in ((readable, READ), (writable, READ | WRITE), (devices, READ_FILE | WRITE_FILE)):
            for path in paths:
                add_path_rule(ruleset, path, rights & fs)
        if _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise LandlockError(ctypes.get_errno(), "cannot set no_new_privs")
        _syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return abi


def add_path_rule(ruleset: int, path: str, rights: int) -> None:
    """Grant ``rights`` beneath ``path`` (skipped when the path does not exist)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= READ_FILE | WRITE_FILE | EXECUTE | TRUNCATE | IOCTL_DEV  # rights a file can carry
        attr = struct.pack("=Qi", rights, fd)
        buffer = ctypes.create_string_buffer(attr, len(attr))
        kind = ctypes.c_int(RULE_PATH_BENEATH)
        _syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), kind, buffer, ctypes.c_uint32(0))
    finally:
        os.close(fd)
