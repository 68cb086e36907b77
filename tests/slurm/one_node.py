"""A real one-node Slurm on this machine: ``munged``, ``slurmctld`` and ``slurmd`` in the foreground as
children of this process, with their configuration, key, state, spool and logs in one folder.

Debian's ``slurm-wlm`` and ``munge`` packages (``scripts/install-system-deps.sh test``), run as root. The
node is this machine (its CPUs and memory as ``slurmd -C`` reports them) in one partition; processes are
tracked by ``proctrack/linuxproc`` (no cgroups), nothing is accounted. Used by ``tests/slurm`` and by
``bench/executor_overhead.py --slurm``; commands run against it need :attr:`OneNodeSlurm.env`
(``SLURM_CONF`` names its configuration).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sinfo", "sbatch", "squeue", "scancel", "scontrol")
SYSTEM_BIN = ("/usr/sbin", "/sbin")
"""Where Debian puts the daemons (not on a normal user's PATH)."""

HARDWARE = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
"""The fields of ``slurmd -C`` that describe the node in slurm.conf."""

PARTITION = "compute"
"""The test partition's name: the one docs/deployment.md's Slurm commands use."""

LIVE_STATES = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "RESIZING", "REQUEUED"}


def program(name: str) -> str | None:
    """The path of Slurm/MUNGE program ``name``, or None."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SYSTEM_BIN))


def missing() -> list[str]:
    """What this machine lacks to run a one-node Slurm (programs, root), empty when nothing."""
    lacking = [name for name in (*DAEMONS, *CLIENTS) if program(name) is None]
    if os.geteuid() != 0:
        lacking.append("root (slurmd runs jobs as their user)")
    return lacking


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def node_hardware(slurmd: str) -> str:
    """``CPUs=2 Boards=1 ... RealMemory=24105``: this machine as slurmd sees it."""
    report = subprocess.run([slurmd, "-C"], capture_output=True, text=True, check=True).stdout
    fields = dict(re.findall(r"(\w+)=(\S+)", report.splitlines()[0]))
    return " ".join(f"{name}={fields[name]}" for name in HARDWARE if name in fields)


class OneNodeSlurm:
    """Starts and stops a one-node Slurm whose files live in ``directory`` (a private folder: MUNGE
    refuses group- or world-writable ones). ``partition``: the only partition's name."""

    def __init__(self, directory: Path, *, partition: str = PARTITION, startup_timeout: float = 60.0) -> None:
        self.directory = directory
        self.partition = partition
        self.startup_timeout = startup_timeout
        self.node = socket.gethostname().split(".")[0]
        self.conf = directory / "slurm.conf"
        self.socket = directory / "munge" / "munge.socket"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: list[IO[bytes]] = []

    def __enter__(self) -> OneNodeSlurm:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- set-up --------------------------------------------------------------------------
    def write_munge_key(self) -> None:
        (self.directory / "munge").mkdir(mode=0o700, exist_ok=True)
        key = self.directory / "munge" / "munge.key"
        descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
        with os.fdopen(descriptor, "wb") as out:
            out.write(os.urandom(1024))

    def write_conf(self) -> None:
        folder = self.directory
        for name in ("state", "spool"):
            (folder / name).mkdir(mode=0o700, exist_ok=True)
        slurmd = program("slurmd")
        assert slurmd is not None
        lines = [
            "ClusterName=metagenx-test",
            f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.socket}",
            f"StateSaveLocation={folder / 'state'}",
            f"SlurmdSpoolDir={folder / 'spool'}",
            f"SlurmctldPidFile={folder / 'slurmctld.pid'}",
            f"SlurmdPidFile={folder / 'slurmd.pid'}",
            f"SlurmctldLogFile={folder / 'slurmctld.log'}",
            f"SlurmdLogFile={folder / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",  # no cgroups: processes are found by their ancestry
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",  # jobs of a core each share the node
            "ReturnToService=2",
            "KillWait=5",  # SIGTERM, then SIGKILL 5 s later (scancel, walltime)
            "MinJobAge=600",  # finished jobs stay visible to squeue -t all for 10 min
            "MailProg=/bin/true",
            f"NodeName={self.node} NodeAddr=127.0.0.1 {node_hardware(slurmd)} State=UNKNOWN",
            f"PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def spawn(self, name: str, command: list[str]) -> None:
        log = open(self.directory / f"{name}.out", "ab")  # noqa: SIM115 (closed in stop())
        self.logs.append(log)
        self.processes[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )

    def start(self) -> None:
        """Start the three daemons; return once ``sinfo`` shows the node idle. On failure everything
        started is stopped and the error names the log to read."""
        try:
            self.launch()
        except BaseException:
            self.stop()
            raise

    def launch(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self.write_munge_key()
        self.write_conf()
        munge = self.directory / "munge"
        self.spawn(
            "munged",
            [
                str(program("munged")),
                "--foreground",
                "--force",
                f"--key-file={munge / 'munge.key'}",
                f"--socket={self.socket}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--log-file={munge / 'munged.log'}",
                f"--seed-file={munge / 'munged.seed'}",
            ],
        )
        self.wait("munged", lambda: self.socket.exists(), "munge/munged.log")
        self.spawn("slurmctld", [str(program("slurmctld")), "-D", "-i", "-f", str(self.conf)])
        self.wait("slurmctld", lambda: "UP" in self.run("scontrol", "ping").stdout, "slurmctld.log")
        self.spawn("slurmd", [str(program("slurmd")), "-D", "-f", str(self.conf), "-N", self.node])
        self.wait("slurmd", self.node_idle, "slurmd.log")

    def wait(self, name: str, ready: object, log: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.directory / log}")
            if callable(ready) and ready():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} not ready within {self.startup_timeout:g} s; see {self.directory / log}"
                )
            time.sleep(0.2)

    # -- use -----------------------------------------------------------------------------
    def run(self, command: str, *arguments: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run Slurm client ``command`` against this cluster."""
        path = program(command) or command
        return subprocess.run(
            [path, *arguments], capture_output=True, text=True, env=self.env, check=check, timeout=30
        )

    def node_idle(self) -> bool:
        return self.run("sinfo", "-h", "-N", "-o", "%N %t").stdout.split() == [self.node, "idle"]

    def job_states(self) -> dict[str, str]:
        """Job id → state (``RUNNING``, ``CANCELLED``, ``TIMEOUT``...) of every job Slurm still knows."""
        listing = self.run("squeue", "-h", "-t", "all", "-o", "%i %T").stdout
        return dict(line.split() for line in listing.splitlines() if line.strip())

    def live_jobs(self) -> list[str]:
        return [job for job, state in self.job_states().items() if state in LIVE_STATES]

    # -- tear-down -----------------------------------------------------------------------
    def stop(self, timeout: float = 30.0) -> None:
        """Cancel every job and wait for them to end, then stop slurmd, slurmctld and munged; idempotent."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            with contextlib.suppress(Exception):
                jobs = self.live_jobs()
                if jobs:
                    self.run("scancel", *jobs)
                deadline = time.monotonic() + timeout
                while self.live_jobs() and time.monotonic() < deadline:
                    time.sleep(0.3)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self.logs:
            log.close()
        self.logs.clear()
