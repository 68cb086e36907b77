"""The bubblewrap command line of one sandboxed runner.

Inside the sandbox a runner sees: the system (``/usr`` and the ``/lib*``, ``/bin``
links) and the Python environment read-only, a few harmless files of ``/etc`` (never
``shadow``), a fresh ``/proc`` of its own processes, a minimal ``/dev``, a private
size-limited ``/tmp``, its study directory, and its model and data files read-only.
Everything appears at the same path as outside. No network (a new, empty network
namespace), new pid/ipc/uts/cgroup namespaces, no capabilities but the three the
launcher needs to become the runner's uid (it then drops them for good).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metagenx.engine.kernels import KERNELS_VARIABLE, cache_dir
from metagenx.engine.runtime import THREAD_VARIABLES
from metagenx.errors import OutputError
from metagenx.jobs import FitTask
from metagenx.sandbox.policy import KiB, Limits, MiB, SandboxPolicy

ETC_FILES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group",
    "hosts", "fonts", "alternatives", "mime.types", "matplotlibrc",
)  # fmt: skip
"""What of ``/etc`` a runner may read: the dynamic loader, time zone, account names, fonts."""

SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
SHM_SIZE = 64 * MiB
"""Size of the sandbox's private ``/dev/shm``: MPI (imported by GenX) sets up shared memory at start."""
FONT_CACHE = "/run/metagenx/matplotlib"
"""Where the server's matplotlib font list appears in the sandbox (copied to ``$MPLCONFIGDIR``)."""
KERNEL_CACHE = "/run/metagenx/numba"
"""Where the server's compiled GenX kernels appear in the sandbox, read-only; the launcher copies
them to the sandbox's own ``$NUMBA_CACHE_DIR``, so that no fit can change another's kernels."""
SANDBOX_NUMBA_CACHE = "/tmp/numba-cache"


@dataclass(frozen=True)
class Mounts:
    """The task-specific part of a sandbox: the writable directory and the read-only files."""

    writable: str | None = None
    readonly: frozenset[str] = field(default_factory=frozenset)

    def covers(self, other: Mounts) -> bool:
        """Whether a sandbox with these mounts can run a task that needs ``other``: the same
        writable directory, and each read-only path mounted itself or inside a mounted folder."""
        return self.writable == other.writable and all(
            any(path == mounted or path.startswith(mounted + os.sep) for mounted in self.readonly)
            for path in other.readonly
        )


def writable_directory(output: str) -> str:
    """The directory mounted writable for a task writing ``output``.

    For the controller's layout ``<study>/jobs/<job>/<model>.hgx`` it is ``<study>/jobs``,
    so a warm runner can go on with the next job of the study (the sandbox still owns
    only the directory of the job it runs); otherwise the output file's own directory.
    """
    job = Path(os.path.abspath(output)).parent
    return str(job.parent) if job.parent.name == "jobs" else str(job)


def mounts_for(task: FitTask) -> Mounts:
    """What ``task`` needs mounted: its study's ``jobs`` directory, its model and data files.

    Raises :class:`~metagenx.errors.OutputError` when the output directory is a top-level
    folder (``/tmp``, ``/home``...), which must never be handed to a sandbox.
    """
    files = {os.path.abspath(task.model_path), *(os.path.abspath(d.path) for d in task.data)}
    writable = writable_directory(task.output) if task.output is not None else None
    if writable is not None and Path(writable).parent == Path("/"):
        raise OutputError(
            f"the output directory {writable} is a top-level folder; a sandboxed fit needs a directory "
            "of its own (e.g. <study>/jobs/<job>/)"
        )
    study = Path(writable).parent if writable is not None and Path(writable).name == "jobs" else None
    return Mounts(writable, frozenset(study_folder_of(file, study) or file for file in files))


def study_folder_of(file: str, study: Path | None) -> str | None:
    """The first-level folder of the study that holds ``file`` (e.g. ``<study>/data``), if any.

    Mounting that folder rather than the file lets a warm sandbox run the study's next
    job, whose data file is another file of the same folder (batches, watches); it holds
    only the study owner's uploads. ``jobs`` is never mounted read-only (it is writable).
    """
    if study is None:
        return None
    try:
        parts = Path(file).relative_to(study).parts
    except ValueError:
        return None
    if len(parts) < 2 or parts[0] == "jobs":
        return None
    return str(study / parts[0])


def cpu_backstop(limits: Limits) -> int:
    """``RLIMIT_CPU`` of a runner process, s: room for several fits; the watchdog enforces each fit's own."""
    return int(4 * limits.cpu_seconds + 60)


def rlimits(limits: Limits) -> dict[str, list[int]]:
    """The launcher's resource limits for ``limits`` (soft, hard)."""
    cpu = cpu_backstop(limits)
    return {
        "core": [0, 0],
        "cpu": [cpu, cpu + 5],
        "as": [limits.memory_bytes, limits.memory_bytes],
        "nproc": [limits.max_processes, limits.max_processes],
        "fsize": [limits.max_output_bytes, limits.max_output_bytes],
        "nofile": [limits.open_files, limits.open_files],
        "memlock": [64 * KiB, 64 * KiB],
    }


def environment() -> dict[str, str]:
    """The runner's whole environment inside the sandbox (nothing of the server's is passed on)."""
    env = {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "HWLOC_HIDE_ERRORS": "2",  # MPI's hwloc misses /sys; harmless for one process
        "UCX_LOG_LEVEL": "fatal",  # MPI's UCX misses network interfaces; there are none to find
        "NUMBA_CACHE_DIR": SANDBOX_NUMBA_CACHE,
    }
    env.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    if os.environ.get(KERNELS_VARIABLE):  # the server's choice of GenX kernels, checked by the runner
        env[KERNELS_VARIABLE] = os.environ[KERNELS_VARIABLE]
    return env


def python_paths() -> list[str]:
    """The Python installation and the metagenx package, read-only (not the project folder around it)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(str(Path(__file__).resolve().parents[1]))  # the metagenx package
    return sorted(os.path.abspath(p) for p in paths)


def font_cache_files() -> list[str]:
    """The server's matplotlib font lists (``fontlist-v*.json``), if it has built them."""
    folder = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib"
    )
    try:
        return sorted(str(p) for p in Path(folder).glob("fontlist-v*.json"))
    except OSError:
        return []


def kernel_cache() -> str | None:
    """The server's folder of compiled GenX kernels, if it has one (see :mod:`metagenx.engine.kernels`)."""
    folder = cache_dir()
    return str(folder) if folder.is_dir() else None


class Builder:
    """Collects bubblewrap arguments; creates the parents of every mount point with mode 0755."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self.made: set[str] = {"/"}

    def parents(self, dest: str) -> None:
        for parent in reversed(Path(dest).parents):
            text = str(parent)
            if text not in self.made:
                self.made.add(text)
                self.args += ["--perms", "0755", "--dir", text]

    def mount(self, option: str, source: str, dest: str) -> None:
        self.parents(dest)
        self.made.add(dest)
        self.args += [option, source, dest]


def system_mounts(builder: Builder) -> None:
    for name in SYSTEM_DIRS:
        path = f"/{name}"
        if os.path.islink(path):
            builder.args += ["--symlink", os.readlink(path), path]
            builder.made.add(path)
        elif os.path.isdir(path):
            builder.mount("--ro-bind", path, path)
    for name in ETC_FILES:
        builder.mount("--ro-bind-try", f"/etc/{name}", f"/etc/{name}")


def bwrap_command(
    bwrap: str,
    policy: SandboxPolicy,
    limits: Limits,
    mounts: Mounts,
    uid: int,
    *,
    check: bool = False,
    entry: str = "runner",
) -> list[str]:
    """The full ``bwrap ... python -m metagenx.sandbox.launch CONFIG`` command of one runner
    (``entry`` ``"reader"``: of a reader of uploads, see :data:`metagenx.sandbox.launch.ENTRIES`)."""
    builder = Builder()
    builder.args += [
        bwrap,
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "metagenx-sandbox",
        "--die-with-parent", "--new-session",
        "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP",
        "--clearenv",
    ]  # fmt: skip
    for name, value in environment().items():
        builder.args += ["--setenv", name, value]
    builder.args += ["--proc", "/proc", "--dev", "/dev"]
    for tmpfs, size in (("/tmp", limits.tmp_size), ("/dev/shm", SHM_SIZE)):
        builder.args += ["--perms", "1777", "--size", str(size), "--tmpfs", tmpfs]
    builder.made.update({"/proc", "/dev", "/tmp", "/dev/shm"})
    system_mounts(builder)
    fonts = font_cache_files()
    binds = [(path, "--ro-bind", path) for path in python_paths()]
    binds += [(f"{FONT_CACHE}/{os.path.basename(path)}", "--ro-bind", path) for path in fonts]
    kernels = kernel_cache()
    binds += [(KERNEL_CACHE, "--ro-bind", kernels)] if kernels else []
    binds += [(path, "--bind", path) for path in [mounts.writable] if path]
    binds += [(path, "--ro-bind-try", path) for path in mounts.readonly]
    # Shallow before deep: a read-only model file inside the study directory stays read-only, and
    # a study directory around the Python environment does not hide its read-only mount.
    for dest, option, source in sorted(binds, key=lambda item: (item[0].count("/"), item[0])):
        builder.mount(option, source, dest)
    builder.args += ["--chdir", "/tmp", "--"]
    config: dict[str, Any] = {
        "uid": uid,
        "gid": uid,
        "rlimits": rlimits(limits),
        "writable": [mounts.writable] if mounts.writable else [],
        "landlock": policy.landlock.value,
        "seccomp": policy.seccomp.value,
        "user_namespace": policy.user_namespace.value,
        "font_cache": FONT_CACHE if fonts else None,
        "kernel_cache": [KERNEL_CACHE, SANDBOX_NUMBA_CACHE] if kernels else None,
        "check": check,
        "entry": entry,
    }
    launcher = [sys.executable, "-I", "-B", "-u", "-m", "metagenx.sandbox.launch", json.dumps(config)]
    return [*builder.args, *launcher]
