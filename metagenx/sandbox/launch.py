"""Trusted start-up inside the sandbox: ``python -m metagenx.sandbox.launch CONFIG``.

bubblewrap starts this as root of the host with every capability dropped but those
needed to change user (and to drop the rest for good). Before any model code exists,
it:

1. sets the resource limits (CPU, address space, processes, file size, open files, no core dumps);
2. empties the capability bounding set and becomes the runner's own unprivileged uid and
   gid, with no supplementary groups (so no capability is left, and ``RLIMIT_NPROC``
   applies: the kernel does not count processes of root);
3. enters a user namespace of its own uid (nothing else is mapped);
4. applies Landlock (read-only everywhere, writable only ``/tmp`` and the study
   directory, no TCP) and the seccomp filter;

then runs, in this same process, the entry the config names (:data:`ENTRIES`: the runner
:mod:`metagenx.runner.child`, or the reader of uploads :mod:`metagenx.untrusted.child`). With
``"check": true`` in the config it prints what it could apply as JSON and exits.
A required layer that cannot be applied ends the process with status 70 and a line
``metagenx-sandbox: ...`` on stderr. Keep this module free of heavy imports.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import runpy
import shutil
import sys
from typing import Any, NoReturn

from metagenx.sandbox import landlock, seccomp

PR_CAPBSET_DROP = 24
PR_SET_DUMPABLE = 4
CLONE_NEWUSER = 0x10000000
CAPABILITY_VERSION_3 = 0x20080522
FAILED = 70
ENTRIES = {"runner": "metagenx.runner.child", "reader": "metagenx.untrusted.child"}
"""What a sandbox may run, by the name its config gives."""

RLIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
    "memlock": resource.RLIMIT_MEMLOCK,
}


class LaunchError(Exception):
    """A required layer could not be set up."""


def fail(message: str) -> NoReturn:
    print(f"metagenx-sandbox: {message}", file=sys.stderr, flush=True)
    os._exit(FAILED)


def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def set_limits(limits: dict[str, list[int]]) -> None:
    """Apply ``{"cpu": [soft, hard], ...}``, never above the limits this process already has."""
    for name, (soft, hard) in limits.items():
        current = resource.getrlimit(RLIMITS[name])[1]
        if current != resource.RLIM_INFINITY:
            hard = min(hard, current)
        resource.setrlimit(RLIMITS[name], (min(soft, hard), hard))


def drop_capabilities() -> None:
    """Empty every capability set of this process (effective, permitted, inheritable)."""
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (x2): all empty
    if libc().capset(header, data) != 0:
        raise LaunchError("cannot clear the capability sets")


def drop_privileges(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` with no groups and no capability at all, for good."""
    drop_capabilities_bounding_only()
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    drop_capabilities()
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != gid or os.getgroups():
        raise LaunchError("the change of user did not take")
    libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # own /proc/self again (for the uid map below)


def drop_capabilities_bounding_only() -> None:
    """Empty the bounding set (needs CAP_SETPCAP, so before the change of user)."""
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        if libc().prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise LaunchError(f"cannot drop capability {cap} from the bounding set")


def enter_user_namespace(uid: int, gid: int) -> bool:
    """Move into a new user namespace where only ``uid``/``gid`` exist (mapped to themselves)."""
    if libc().unshare(CLONE_NEWUSER) != 0:
        err = ctypes.get_errno()
        raise LaunchError(f"cannot create a user namespace: {os.strerror(err)}")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)
    drop_capabilities_bounding_only()  # a new user namespace grants every capability in it: drop them
    drop_capabilities()
    return True


def capabilities() -> dict[str, str]:
    """The capability sets of this process, from ``/proc/self/status``."""
    with open("/proc/self/status") as status:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in status) if k.startswith("Cap")}


def apply_layer(config: dict[str, Any], name: str, action: Any) -> Any:
    """Run ``action`` for an optional layer; a failure ends the launch only if the layer is required."""
    mode = config.get(name, "auto")
    if mode == "off":
        return None
    try:
        return action()
    except (OSError, LaunchError) as exc:
        if mode == "required":
            raise LaunchError(f"{name.replace('_', ' ')}: {exc}") from exc
        return None


def prepare(config: dict[str, Any]) -> dict[str, Any]:
    """Set every layer up as ``config`` says; return what was applied."""
    uid, gid = int(config["uid"]), int(config["gid"])
    for shared in ("/tmp", "/dev/shm"):
        os.chmod(shared, 0o1777)
    set_limits(config["rlimits"])
    drop_privileges(uid, gid)
    userns = apply_layer(config, "user_namespace", lambda: enter_user_namespace(uid, gid))
    writable = ["/tmp", "/dev/shm", *config.get("writable", [])]
    abi = apply_layer(config, "landlock", lambda: landlock.restrict(["/"], writable))
    filtered = apply_layer(config, "seccomp", seccomp.install)
    os.umask(0o022)
    copy_font_cache(config.get("font_cache"))
    copy_kernel_cache(config.get("kernel_cache"))
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "user_namespace": bool(userns),
        "landlock_abi": abi or 0,
        "seccomp": filtered is not None,
        "capabilities": capabilities(),
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[1],
    }


def copy_kernel_cache(paths: list[str] | None) -> None:
    """Give numba the server's compiled GenX kernels in a folder of this sandbox's own (``[source,
    target]``): loading them takes well under a second, compiling them about a minute."""
    if not paths:
        return
    source, target = paths
    with contextlib.suppress(OSError):
        shutil.copytree(source, target, dirs_exist_ok=True)


def copy_font_cache(source: str | None) -> None:
    """Give matplotlib the server's font list, so a new sandbox need not rebuild it (~0.7 s)."""
    target = os.environ.get("MPLCONFIGDIR")
    if not source or not target or not os.path.isdir(source):
        return
    with contextlib.suppress(OSError):
        shutil.copytree(source, target, dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        fail("usage: python -m metagenx.sandbox.launch CONFIG-JSON")
    try:
        config = json.loads(args[0])
        applied = prepare(config)
    except (LaunchError, OSError, ValueError, KeyError) as exc:
        fail(str(exc))
    if config.get("check"):
        print(json.dumps(applied), flush=True)
        return
    module = ENTRIES.get(str(config.get("entry", "runner")))
    if module is None:
        fail(f"unknown entry {config.get('entry')!r}")
    sys.argv = [module]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
