"""Hostile model scripts: each attack, its bounded twin (must succeed unsandboxed), its expected reason.

Templates are filled with :class:`Targets`: the files an attacker wants and the places
it tries to reach. Each code snippet goes in front of a GenX example's script, so it
runs when GenX compiles the script at the start of the fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Targets:
    """What the probes reach for: evidence folder, a server secret, another job's file, ports, folders."""

    evidence: Path
    secret: Path
    other_job: Path
    outside: Path
    jobs: Path
    tcp_port: int
    udp_port: int


@dataclass(frozen=True)
class Probe:
    """``attack`` runs in the sandbox and must fail with ``reason`` (a regex); ``bounded`` runs once
    without a sandbox and must succeed (it proves the probe works)."""

    name: str
    attack: str
    bounded: str
    reason: str

    def code(self, targets: Targets, *, sandboxed: bool) -> str:
        template = self.attack if sandboxed else self.bounded
        return template.format(t=targets, mib=2**20)


STEAL = "_data = open('{source}').read()\nopen('{t.evidence}/{name}', 'w').write(_data)"
TCP = (
    "import socket as _s\n"
    "_c = _s.create_connection(('127.0.0.1', {t.tcp_port}), timeout=5)\n"
    "_c.sendall(b'stolen over tcp')\n"
    "_c.close()"
)
UDP = (
    "import socket as _s\n"
    "_u = _s.socket(_s.AF_INET, _s.SOCK_DGRAM)\n"
    "_u.sendto(b'stolen over udp', ('127.0.0.1', {t.udp_port}))\n"
    "_u.close()"
)
OWN_JOB_DIR = (
    "import os as _o\n"
    "_d = [_o.path.join('{t.jobs}', _n) for _n in sorted(_o.listdir('{t.jobs}'))]\n"
    "_d = [_x for _x in _d if _o.access(_x, _o.W_OK)][-1]\n"
)
WRITE = (
    "with open(_o.path.join(_d, 'big.bin'), 'wb') as _f:\n"
    "    for _i in range({count}):\n"
    "        _f.write(bytes({{mib}}))"
)
NETWORK_REFUSED = r"Errno (97|1|13)\b|Address family not supported|not permitted|Permission denied"


def steal(name: str, source: str) -> str:
    return STEAL.replace("{name}", name).replace("{source}", source)


PROBES = [
    Probe("read-shadow", steal("shadow", "/etc/shadow"), steal("shadow", "/etc/shadow"),
          r"No such file or directory: '/etc/shadow'"),
    Probe("read-server-secret", steal("secret", "{t.secret}"), steal("secret", "{t.secret}"),
          r"No such file or directory"),
    Probe("read-other-job", steal("other-job", "{t.other_job}"), steal("other-job", "{t.other_job}"),
          r"No such file or directory"),
    Probe("tcp-connect", TCP, TCP, NETWORK_REFUSED),
    Probe("udp-send", UDP, UDP, NETWORK_REFUSED),
    Probe("write-outside", "open('{t.outside}/pwned.txt', 'w').write('pwned')",
          "open('{t.outside}/pwned.txt', 'w').write('pwned')",
          r"No such file or directory|Read-only file system|Permission denied"),
    Probe("fork-bomb", "import os as _o\nwhile True:\n    _o.fork()",
          "import os as _o\nfor _i in range(20):\n    _p = _o.fork()\n    if _p == 0:\n        _o._exit(0)\n"
          "    _o.waitpid(_p, 0)",
          r"stopped: started more than 32 processes"),
    Probe("memory-bomb", "_b = []\nwhile True:\n    _b.append(bytearray(50 * {mib}))",
          "_b = bytearray(50 * {mib})",
          r"stopped: used more than 1 GiB of memory"),
    Probe("infinite-loop", "while True:\n    pass",
          "import time as _t\n_s = _t.time()\nwhile _t.time() - _s < 1:\n    pass",
          r"stopped: used more than 10 s of CPU time"),
    Probe("sleep-forever", "import time as _t\n_t.sleep(10**6)", "import time as _t\n_t.sleep(1)",
          r"stopped: ran longer than the wall-time limit of 20 s"),
    Probe("ten-gb-file", OWN_JOB_DIR + WRITE.format(count=10 * 1024), OWN_JOB_DIR + WRITE.format(count=20),
          r"stopped: wrote (a file larger than|more than) the output limit of 50 MiB"),
]  # fmt: skip
