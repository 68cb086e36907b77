"""A second "host" on this machine: a network namespace with its own loopback and a veth pair to this one,
addresses assigned here, and a cable that can be pulled (``ip``, from Debian's iproute2, as root).

Only the network is separate: the file systems are this machine's, which stands for the shared file
system every host of a deployment mounts at the same path (docs/deployment.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess


def missing() -> list[str]:
    """What this machine lacks for network namespaces, empty when nothing."""
    lacking = [] if shutil.which("ip") else ["the ip command (Debian package iproute2)"]
    if os.geteuid() != 0:
        lacking.append("root (network namespaces)")
    return lacking


def ip(*arguments: str) -> None:
    done = subprocess.run(["ip", *arguments], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(arguments)}: {done.stderr.strip()}")


class Host:
    """Network namespace ``mgx<n>``: its end of the veth pair has 10.213.<n>.2/24, this namespace's end
    10.213.<n>.1/24 (``n`` from 1 to 250; distinct per concurrent test run)."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.namespace = f"mgx{number}"
        self.here = f"mgxh{number}"
        self.there = f"mgxw{number}"
        self.gateway = f"10.213.{number}.1"
        """This namespace's address on the link: where the other host reaches us."""
        self.address = f"10.213.{number}.2"
        """The other host's address."""

    def create(self) -> None:
        ip("netns", "add", self.namespace)
        try:
            ip("link", "add", self.here, "type", "veth", "peer", "name", self.there)
            ip("link", "set", self.there, "netns", self.namespace)
            ip("addr", "add", f"{self.gateway}/24", "dev", self.here)
            ip("link", "set", self.here, "up")
            self.inside("addr", "add", f"{self.address}/24", "dev", self.there)
            self.inside("link", "set", self.there, "up")
            self.inside("link", "set", "lo", "up")
        except BaseException:
            self.delete()
            raise

    def inside(self, *arguments: str) -> None:
        ip("netns", "exec", self.namespace, "ip", *arguments)

    def command(self, arguments: list[str]) -> list[str]:
        """``arguments`` run on the other host."""
        return ["ip", "netns", "exec", self.namespace, *arguments]

    def partition(self) -> None:
        """Pull the cable: the other host's end goes down. Packets from here are dropped silently
        (no carrier); the other host has no route here."""
        self.inside("link", "set", self.there, "down")

    def heal(self) -> None:
        self.inside("link", "set", self.there, "up")

    def delete(self) -> None:
        """Remove the namespace (and with it the veth pair); idempotent."""
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", self.here], capture_output=True, timeout=30)
