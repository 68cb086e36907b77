"""What of the sandbox this machine can set up, checked by really starting one.

:func:`check_sandbox` looks for ``bwrap``, root (needed to give each runner a uid of
its own), free uids, then starts a trial sandbox whose launcher reports what it
applied: the change of uid with no capability left, the process limit, a user
namespace, the Landlock ABI, the seccomp filter. A server prints
:meth:`SandboxReport.describe` at start-up and calls :meth:`SandboxReport.require`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

from metagenx.sandbox import uids
from metagenx.sandbox.command import Mounts, bwrap_command, font_cache_files
from metagenx.sandbox.errors import SandboxUnavailableError
from metagenx.sandbox.policy import Layer, SandboxPolicy

INSTALL_BWRAP = (
    "install Debian's bubblewrap package: apt-get install bubblewrap (sh scripts/install-system-deps.sh)"
)
TRIAL_TIMEOUT = 60.0


@dataclass(frozen=True)
class LayerStatus:
    """One layer of the sandbox: whether it is there, whether it must be, what was seen, how to get it."""

    name: str
    available: bool
    required: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class SandboxReport:
    """Every layer's status; ``bwrap`` is the program found (None if none)."""

    layers: tuple[LayerStatus, ...]
    bwrap: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every required layer is available (sandboxed fits can run)."""
        return all(layer.available for layer in self.layers if layer.required)

    def missing(self) -> list[LayerStatus]:
        """The required layers that are not available."""
        return [layer for layer in self.layers if layer.required and not layer.available]

    def describe(self) -> str:
        """Several lines for a server's start-up: one per layer, ``ok``/``--``/``MISSING``."""
        lines = ["sandbox layers:"]
        for layer in self.layers:
            mark = "ok" if layer.available else ("MISSING" if layer.required else "--")
            line = f"  [{mark:>7}] {layer.name}: {layer.detail}"
            if not layer.available and layer.fix:
                line += f" (to fix: {layer.fix})"
            lines.append(line)
        return "\n".join(lines)

    def message(self) -> str:
        """Why fits cannot run, for a job's error: each missing layer and how to get it."""
        parts = [f"{layer.name} ({layer.detail}; to fix: {layer.fix})" for layer in self.missing()]
        return "not run: the sandbox this server requires is not available: " + "; ".join(parts)

    def require(self) -> None:
        """Raise :class:`SandboxUnavailableError` naming what is missing unless all required layers exist."""
        if not self.ok:
            raise SandboxUnavailableError(self.message())


def find_bwrap(name: str) -> str | None:
    """The ``bwrap`` program (a name on ``PATH`` or a path) if it is there and executable."""
    if os.sep in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name)


def bwrap_version(path: str) -> str:
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run: {exc}"
    return result.stdout.strip() or result.stderr.strip()


def trial(bwrap: str, policy: SandboxPolicy) -> dict[str, object] | str:
    """Start a sandbox whose launcher only reports what it applied; its JSON, or why it failed."""
    uid = uids.allocate(policy.uid_base, policy.uid_count)
    if uid is None:
        return "no sandbox uid is free"
    try:
        command = bwrap_command(bwrap, policy, policy.limits, Mounts(), uid, check=True)
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=TRIAL_TIMEOUT, env={"PATH": "/usr/bin:/bin"}
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot start bwrap: {exc}"
    finally:
        uids.release(uid)
    if result.returncode != 0:
        last = [line for line in result.stderr.splitlines() if line.strip()]
        if not last:
            return f"exit status {result.returncode}"
        return last[-1].removeprefix("metagenx-sandbox:").strip()
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"the trial sandbox answered {result.stdout[-200:]!r}"
    return dict(report)


def optional(name: str, mode: Layer, available: bool, detail: str, fix: str) -> LayerStatus:
    if mode is Layer.OFF:
        return LayerStatus(name, False, False, "switched off by the sandbox policy")
    return LayerStatus(name, available, mode is Layer.REQUIRED, detail, fix)


def landlock_detail(abi: int) -> str:
    if abi <= 0:
        return "unavailable"
    scope = " (files, TCP, scoping)" if abi >= 6 else " (files, TCP)" if abi >= 4 else " (files)"
    return f"ABI {abi}{scope}"


def host_layers(policy: SandboxPolicy, bwrap: str | None) -> list[LayerStatus]:
    """The layers checked without starting anything: ``bwrap``, root, free uids."""
    if bwrap:
        found = LayerStatus("bubblewrap", True, True, f"{bwrap} ({bwrap_version(bwrap)})")
    else:
        found = LayerStatus("bubblewrap", False, True, f"no program {policy.bwrap!r} found", INSTALL_BWRAP)
    root = os.geteuid() == 0
    who = "running as root" if root else f"running as uid {os.geteuid()}"
    as_root = "run the server (or the worker machine) as root: it starts each runner as a uid of its own"
    taken = uids.accounts_in_range(policy.uid_base, policy.uid_count)
    last_uid = policy.uid_base + policy.uid_count - 1
    free = f"uids and gids {policy.uid_base}–{last_uid}, no accounts or groups"
    if taken:
        free = f"used by {', '.join(taken[:3])}"
    return [
        found,
        LayerStatus("root", root, True, who, as_root),
        LayerStatus(
            "dedicated uids", not taken, True, free, "choose a free range: SandboxPolicy(uid_base=...)"
        ),
    ]


def sandbox_layers(policy: SandboxPolicy, result: dict[str, object] | str) -> list[LayerStatus]:
    """The layers the trial sandbox reported (``result``: its JSON, or why it did not start)."""
    started = isinstance(result, dict)
    info: dict[str, object] = result if isinstance(result, dict) else {}
    caps = info.get("capabilities", {})
    no_caps = isinstance(caps, dict) and all(set(str(v)) == {"0"} for v in caps.values())
    dropped = started and info.get("uid") != 0 and no_caps
    abi = int(str(info.get("landlock_abi", 0)))
    userns = bool(info.get("user_namespace"))
    filtered = bool(info.get("seccomp"))
    return [
        LayerStatus(
            "namespaces",
            started,
            True,
            "new pid, net, ipc, uts, cgroup and mount namespaces" if started else str(result),
            "allow namespaces for root (in a container: run it privileged, or use a VM)",
        ),
        LayerStatus(
            "unprivileged uid",
            dropped,
            True,
            f"runners run as uid {info.get('uid')}, no capabilities, at most {info.get('nproc')} processes"
            if dropped
            else "not verified",
            "see the namespaces and root layers",
        ),
        optional(
            "user namespace",
            policy.user_namespace,
            userns,
            "each runner in a user namespace of its own uid" if userns else "unavailable",
            "allow user namespaces (sysctl user.max_user_namespaces > 0)",
        ),
        optional(
            "landlock",
            policy.landlock,
            abi > 0,
            landlock_detail(abi),
            "Linux ≥ 5.13 with Landlock enabled (lsm=...,landlock); ≥ 6.7 for TCP rules",
        ),
        optional(
            "seccomp",
            policy.seccomp,
            filtered,
            "sockets, namespaces, ptrace, io_uring and more refused" if filtered else "unavailable",
            "Linux with CONFIG_SECCOMP_FILTER on x86-64",
        ),
    ]


def check_sandbox(policy: SandboxPolicy | None = None) -> SandboxReport:
    """Check every layer of the sandbox ``policy`` asks for, by starting a trial sandbox."""
    policy = policy or SandboxPolicy()
    bwrap = find_bwrap(policy.bwrap)
    layers = host_layers(policy, bwrap)
    result: dict[str, object] | str = "not tried (bubblewrap or root missing)"
    if all(layer.available for layer in layers):
        assert bwrap is not None
        warm_font_cache()
        result = trial(bwrap, policy)
    report = SandboxReport((*layers, *sandbox_layers(policy, result)), bwrap)
    with _lock:
        _reports[policy] = report
    return report


_reports: dict[SandboxPolicy, SandboxReport] = {}
_lock = threading.Lock()


def cached_report(policy: SandboxPolicy) -> SandboxReport:
    """The last :func:`check_sandbox` of ``policy`` in this process (runners ask before every start)."""
    with _lock:
        report = _reports.get(policy)
    return report if report is not None else check_sandbox(policy)


def warm_font_cache() -> None:
    """Build matplotlib's font list outside the sandbox once, so that sandboxes can copy it."""
    if font_cache_files():
        return
    subprocess.run(
        [sys.executable, "-c", "import matplotlib.font_manager"],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
