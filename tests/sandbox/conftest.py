"""Fixtures of the sandbox tests: small limits, probe models built from a bundled GenX example, a listener.

These tests start real bubblewrap sandboxes and need root (as CI runs them); elsewhere
they are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from metagenx.engine.model import GenxModel
from metagenx.sandbox import Limits, SandboxPolicy, check_sandbox
from metagenx.sandbox.policy import GiB, MiB

LIMITS = Limits(
    cpu_seconds=10,
    memory_bytes=1 * GiB,
    wall_seconds=20,
    max_output_bytes=50 * MiB,
    max_processes=32,
    open_files=128,
    tmp_size=64 * MiB,
)
"""Small limits, so that every attack is stopped within seconds."""

NORMAL_SETTINGS = {"seed": 1, "max_generations": 3}


@pytest.fixture(scope="session")
def policy() -> SandboxPolicy:
    """The sandbox policy of the tests; fails (in CI, as root) if the sandbox is not available."""
    if os.geteuid() != 0:
        pytest.skip("the sandbox gives each runner a uid of its own, which needs root (CI runs as root)")
    chosen = SandboxPolicy(limits=LIMITS)
    check_sandbox(chosen).require()
    return chosen


def with_script_prefix(source: Path, code: str, target: Path) -> Path:
    """A copy of the model ``source`` whose script starts with ``code`` (run when GenX compiles it)."""
    model = GenxModel.load(source)
    model.model.set_script(f"{code}\n{model.script}")
    return model.save(target)


@dataclass
class Listener:
    """A TCP and a UDP socket on 127.0.0.1 that record everything they receive."""

    tcp_port: int = 0
    udp_port: int = 0
    received: list[bytes] = field(default_factory=list)
    connections: int = 0

    def clear(self) -> None:
        self.received.clear()
        self.connections = 0


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    record = Listener(tcp.getsockname()[1], udp.getsockname()[1])
    stop = threading.Event()

    def serve_tcp() -> None:
        tcp.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = tcp.accept()
            except OSError:
                continue
            record.connections += 1
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    record.received.append(conn.recv(1024))

    def serve_udp() -> None:
        udp.settimeout(0.2)
        while not stop.is_set():
            try:
                record.received.append(udp.recv(1024))
            except OSError:
                continue

    threads = [threading.Thread(target=serve, daemon=True) for serve in (serve_tcp, serve_udp)]
    for thread in threads:
        thread.start()
    yield record
    stop.set()
    for thread in threads:
        thread.join()
    tcp.close()
    udp.close()
