"""A seccomp filter written as a classic BPF program: the system calls a fit never needs are refused.

Refused (``EPERM`` unless noted): sockets other than Unix ones (``EAFNOSUPPORT``), new
namespaces (``unshare``, ``setns``, ``clone`` with a namespace flag), ``ptrace`` and
reading or writing other processes' memory, io_uring, BPF, perf events, user faults, key
rings, mounting, module loading, kexec, rebooting, clock setting. ``clone3`` answers
``ENOSYS`` so the C library falls back to ``clone``, whose flags the filter can see.
System calls of another architecture (32-bit or x32 on x86-64) kill the process.
"""

from __future__ import annotations

import ctypes
import platform
import struct

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SYS_SECCOMP = 317
SET_MODE_FILTER = 1
FILTER_FLAG_SPEC_ALLOW = 4

RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97

LD_W_ABS = 0x20
JEQ = 0x15
JGE = 0x35
JSET = 0x45
RET = 0x06

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
AF_UNIX = 1
NAMESPACE_FLAGS = 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00020000
"""CLONE_NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWNS."""

SOCKET, CLONE, CLONE3 = 41, 56, 435
"""x86-64 numbers of the system calls whose arguments the filter looks at."""

DENIED = {
    "ptrace": 101, "syslog": 103, "vhangup": 153, "pivot_root": 155, "chroot": 161, "acct": 163,
    "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "iopl": 172,
    "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "perf_event_open": 298, "name_to_handle_at": 303, "open_by_handle_at": 304, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "finit_module": 313, "kexec_file_load": 320,
    "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442, "settimeofday": 164, "adjtimex": 159,
    "clock_adjtime": 305,
}  # fmt: skip
"""x86-64 system calls refused with EPERM."""


class SeccompError(OSError):
    """The filter cannot be installed here."""


def supported() -> str | None:
    """None when this machine can take the filter, else why not."""
    if platform.machine() != "x86_64":
        return f"the seccomp filter is written for x86_64, not {platform.machine()}"
    return None


def instruction(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program() -> bytes:
    """The filter for x86-64 as BPF bytecode (``struct sock_filter`` array)."""
    code = [
        instruction(LD_W_ABS, 4),  # seccomp_data.arch
        instruction(JEQ, AUDIT_ARCH_X86_64, jt=1),
        instruction(RET, RET_KILL_PROCESS),
        instruction(LD_W_ABS, 0),  # seccomp_data.nr
        instruction(JGE, X32_SYSCALL_BIT, jf=1),
        instruction(RET, RET_KILL_PROCESS),
    ]
    for number in sorted(DENIED.values()):
        code += [instruction(JEQ, number, jf=1), instruction(RET, RET_ERRNO | EPERM)]
    code += [instruction(JEQ, CLONE3, jf=1), instruction(RET, RET_ERRNO | ENOSYS)]
    code += [
        instruction(JEQ, SOCKET, jf=4),
        instruction(LD_W_ABS, 16),  # args[0] (low half): the address family
        instruction(JEQ, AF_UNIX, jt=1),
        instruction(RET, RET_ERRNO | EAFNOSUPPORT),
        instruction(RET, RET_ALLOW),
        instruction(JEQ, CLONE, jf=4),
        instruction(LD_W_ABS, 16),  # args[0] (low half): the clone flags
        instruction(JSET, NAMESPACE_FLAGS, jf=1),
        instruction(RET, RET_ERRNO | EPERM),
        instruction(RET, RET_ALLOW),
        instruction(RET, RET_ALLOW),
    ]
    return b"".join(code)


def install() -> int:
    """Install the filter on this process for good (sets no_new_privs); return its length in instructions.

    Raises :class:`SeccompError`.
    """
    reason = supported()
    if reason is not None:
        raise SeccompError(0, reason)
    code = program()
    count = len(code) // 8
    buffer = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(count, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SeccompError(ctypes.get_errno(), "cannot set no_new_privs")
    libc.syscall.restype = ctypes.c_long
    # SPEC_ALLOW: do not force the Spectre store-bypass and STIBP mitigations on the fit, which can
    # slow numerical code a lot; they protect a process's own secrets, and a fit process has none.
    done = libc.syscall(
        ctypes.c_long(SYS_SECCOMP), SET_MODE_FILTER, FILTER_FLAG_SPEC_ALLOW, ctypes.byref(prog)
    )
    if done != 0 and libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"the kernel refused the seccomp filter (errno {err})")
    return count
