"""Benchmark: the same study undisturbed and with N random kills of its controller.

Runs a 12-fit study (SuperAdam_SiO, seeds 1–12, a fixed generation budget) with
``metagenx study run`` on 2 workers twice, in fresh folders: once undisturbed, once while the
controller process is killed with SIGKILL N times at random moments (seeded), each time started
again with the same command, until the study completes. Prints the faults injected, the jobs lost
(a job without exactly one complete result; goal 0), the duplicates (a job that succeeded more
than once, or a file recorded twice; goal 0), whether every FOM equals the undisturbed run's, and
the wall-time overhead per fault (disturbed − undisturbed, over N), s.

    python bench/fault_recovery.py                 # 10 kills
    python bench/fault_recovery.py --kills 3       # a quick run
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from metagenx.engine.runtime import examples_dir
from metagenx.store import Artifact, Event, EventKind, Job, JobState, open_store

FITS = 12


def write_study(folder: Path, generations: int) -> Path:
    model = Path(examples_dir()) / "SuperAdam_SiO.hgx"
    seeds = ", ".join(str(s) for s in range(1, FITS + 1))
    study = folder / "bench.toml"
    study.write_text(
        f'name = "bench"\ntemplate = "{model}"\nseeds = [{seeds}]\n'
        f"[settings]\nmax_generations = {generations}\npopulation = 12\n"
    )
    return study


def start(study: Path, folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "metagenx", "study", "run", str(study), "--workers", "2"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def run(folder: Path, generations: int, kills: int, rng: random.Random) -> tuple[float, int]:
    """Wall time until the study completes, and the kills that struck it."""
    study = write_study(folder, generations)
    began = time.monotonic()
    struck = 0
    process = start(study, folder)
    while struck < kills:
        time.sleep(rng.uniform(0.8, 2.5))
        if process.poll() is not None:
            break
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        struck += 1
        process = start(study, folder)
    if process.wait() != 0:
        raise SystemExit(f"the study failed in {folder}")
    return time.monotonic() - began, struck


def outcome(folder: Path) -> tuple[dict[str, float], int, int]:
    """FOM per label, jobs without exactly one complete result, duplicated successes or files."""
    with open_store(None, folder / "bench") as store, store.session() as session:
        foms, lost, duplicates = {}, 0, 0
        for job in session.query(Job):
            label = str(job.label)
            complete = job.state is JobState.SUCCEEDED and bool(job.result and job.result.get("complete"))
            lost += not complete
            foms[label] = float(job.fom or 0.0)
            states = session.query(Event).filter(Event.job_id == job.id, Event.kind == EventKind.STATE)
            successes = sum(1 for e in states if (e.data or {}).get("to") == "succeeded")
            kinds = [a.kind for a in session.query(Artifact).filter(Artifact.job_id == job.id)]
            duplicates += (successes > 1) + (len(kinds) != len(set(kinds)))
    return foms, lost, duplicates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=10, help="controller kills (default 10)")
    parser.add_argument("--generations", type=int, default=25, help="generations per fit (default 25)")
    parser.add_argument("--seed", type=int, default=20261202, help="seed of the kill moments")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="metagenx-faults-") as root:
        calm, disturbed = Path(root) / "undisturbed", Path(root) / "disturbed"
        calm.mkdir()
        disturbed.mkdir()
        calm_wall, _ = run(calm, args.generations, 0, rng)
        wall, struck = run(disturbed, args.generations, args.kills, rng)
        reference, _, _ = outcome(calm)
        foms, lost, duplicates = outcome(disturbed)
    same = foms == reference
    print(f"{FITS} fits × {args.generations} generations of SuperAdam_SiO, 2 workers")
    print(f"undisturbed: {calm_wall:.1f} s; with {struck} controller kills (SIGKILL): {wall:.1f} s")
    print(f"faults injected: {struck}")
    print(f"jobs lost: {lost} (goal 0)")
    print(f"duplicates: {duplicates} (goal 0)")
    print(f"results equal to the undisturbed run: {'yes' if same else 'NO'}")
    if struck:
        print(f"wall-time overhead per fault: {(wall - calm_wall) / struck:.2f} s")
    if lost or duplicates or not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
