"""Kill, interrupt and kill again: a study run by the real CLI ends with exactly one complete result
per job, equal to an undisturbed run's (SQLite and PostgreSQL).

The faults are drawn from a seeded generator (``FAULT_SEED``), so a failure can be replayed: the
controller (the CLI process) killed with SIGKILL at a random moment, interrupted with SIGINT (it must
exit within 2 s), or one of its runner processes killed (at most once per job: a job whose runner
dies twice is failed by design).
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from metagenx.store import Event, EventKind, Job, JobState, open_store
from tests.faults.conftest import cli, verify, write_study

FAULT_SEED = 20261202
EXIT_AFTER_SIGINT = 2.0
"""Seconds the CLI may take to exit after a Ctrl-C."""


def running_runners(url: str, folder: Path) -> dict[int, int]:
    """Runner pid → job id of the jobs running now (from the runners' "started" log lines)."""
    found: dict[int, int] = {}
    with open_store(url, folder) as store, store.session() as session:
        for job in session.query(Job).filter(Job.state == JobState.RUNNING):
            logs = session.query(Event).filter(
                Event.job_id == job.id, Event.run == job.runs, Event.kind == EventKind.LOG
            )
            for event in logs:
                words = str((event.data or {}).get("message", "")).split()
                if words[:2] == ["runner", "pid"]:
                    found[int(words[2])] = job.id
    return found


def runners_to_kill(url: str, folder: Path, hit: set[int], wait: float = 5.0) -> dict[int, int]:
    """Runners (pid → job) running a job whose runner was not killed yet (waiting up to ``wait`` s)."""
    deadline = time.monotonic() + wait
    while True:
        found = {
            pid: job for pid, job in running_runners(url, folder).items() if job not in hit and alive(pid)
        }
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.both_stores
def test_random_kills_and_interrupts_leave_exactly_one_complete_result_per_job(
    db_url: str, superadam: Path, tmp_path: Path, reference: dict[str, float]
) -> None:
    rng = random.Random(FAULT_SEED)
    workdir = tmp_path / "study"
    study = write_study(workdir, superadam)
    folder = workdir / "faults"
    command = ("study", "run", str(study), "--workers", "2", "--db", db_url)
    runner_hit: set[int] = set()
    log: list[str] = []
    faults = 0
    kinds = ["kill"] * 4 + ["interrupt"] * 3 + ["runner"] * 3
    rng.shuffle(kinds)
    process = cli(*command, cwd=workdir)
    for kind in kinds:
        time.sleep(rng.uniform(0.8, 2.5))
        if process.poll() is not None:
            assert process.returncode == 0, process.communicate()[1]
            break  # the study finished before this fault: nothing left to disturb
        victims = runners_to_kill(db_url, folder, runner_hit) if kind == "runner" else {}
        if victims:
            pid = rng.choice(sorted(victims))
            runner_hit.add(victims[pid])
            os.kill(pid, signal.SIGKILL)
            log.append(f"runner of job {victims[pid]} killed")
        elif kind == "interrupt":
            sent = time.monotonic()
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
            took = time.monotonic() - sent
            assert took <= EXIT_AFTER_SIGINT, f"exited {took:.1f} s after Ctrl-C"
            # -SIGINT: interrupted while Python was still importing the metagenx package, before
            # any handler could exist (nothing had begun); the next run must recover all the same
            assert process.returncode in (0, 130, -signal.SIGINT), err
            log.append(f"interrupted (exit in {took:.2f} s)")
            process = cli(*command, cwd=workdir)
        else:  # a kill, or a runner fault when every running job's runner was killed once already
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            log.append("controller killed" + ("" if kind == "kill" else " (no runner left to kill)"))
            process = cli(*command, cwd=workdir)
        faults += 1
    process.kill()
    process.wait()
    finished = cli(*command, cwd=workdir)
    _, err = finished.communicate(timeout=300)
    assert finished.returncode == 0, err
    verdict = verify(db_url, folder, reference)
    assert verdict.jobs == len(reference), log
    assert faults >= 10, f"only {faults} faults struck before the study ended: {log}"
    print(f"{faults} faults ({'; '.join(log)}); {verdict.reruns} fits run again")
