"""Benchmark: the same 12-fit study with and without the sandbox, warm runners in both.

Each side runs on the controller and ``LocalExecutor(workers=2)``; the sandboxed side gives
the executor ``sandboxed_runner_factory(policy)``. Both first run two one-generation
warm-up fits in the study, so every slot holds a warm runner (a sandboxed one on the
sandboxed side) when the clock starts; then the 12 fits (X-ray_Reflectivity, seeds 1–12,
a fixed generation budget, all outputs written) are added to the same study and timed.
Rounds alternate the two sides, so a busy machine slows both alike. Prints each round,
the ratio of the median wall times, sandboxed / plain (expected ≤ 1.10), and the ratio
of the runners' CPU time on the fits (read from ``/proc``; less sensitive to other load
on the machine). The FOMs of both sides must be identical. Then it times the checks a server
makes of uploads in the sandbox (:class:`metagenx.untrusted.UntrustedReader`): a model check and
a study expansion (a 12-start study of the same template), each in a fresh sandboxed reader,
against the same check in a plain child process, and prints seconds per check. Needs root and
bubblewrap (see docs/security.md).

    python bench/sandbox_overhead.py              # 12 fits × 100 generations, 3 rounds
    python bench/sandbox_overhead.py --quick      # 4 fits × 10 generations, 1 round
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metagenx.controller import Controller
from metagenx.engine.runtime import examples_dir
from metagenx.executors import LocalExecutor
from metagenx.jobs import JobSpec
from metagenx.runner.process import RunnerProcess
from metagenx.sandbox import SandboxPolicy, check_sandbox, sandboxed_runner_factory
from metagenx.sandbox.accounting import stat
from metagenx.store import JobFilter, JobState, StudyKind, list_jobs, open_store
from metagenx.study.submit import submit_study

WORKERS = 2


@dataclass
class Side:
    """One timed run: wall time (s), CPU time of the runners on the fits (s), FOMs in seed order."""

    wall: float
    cpu: float
    foms: list[float]


def cpu_of(pid: int) -> float:
    values = stat(pid)
    return values[0] if values is not None else 0.0


def one_side(runner: type[RunnerProcess], model: str, seeds: list[int], generations: int) -> Side:
    """Run the warm-ups, then time the fits."""
    with tempfile.TemporaryDirectory(prefix="metagenx-bench-") as folder:
        store = open_store(None, Path(folder))
        warmup = [
            JobSpec(label=f"warm-up {i}", model_path=model, settings={"seed": 100 + i, "max_generations": 1})
            for i in range(WORKERS)
        ]
        fits = [
            JobSpec(label=f"seed={s}", model_path=model, settings={"seed": s, "max_generations": generations})
            for s in seeds
        ]
        controller = Controller(store, LocalExecutor(workers=WORKERS, runner_factory=runner))

        def submit(specs: list[JobSpec]) -> int:
            return submit_study(
                store,
                project="bench",
                name="overhead",
                kind=StudyKind.STUDY,
                specs=specs,
                directory=Path(folder),
            )

        controller.run(submit(warmup))
        study = submit([*warmup, *fits])
        at_start: dict[int, tuple[int, float]] = {}
        cpu = [0.0]

        def listen(event: dict[str, Any]) -> None:  # runner CPU time per fit, from /proc (host pids)
            if event.type == "started":
                at_start[event.job_id] = (event.pid, cpu_of(event.pid))
            elif event.type == "result" and event.job_id in at_start:
                pid, before = at_start[event.job_id]
                cpu[0] += cpu_of(pid) - before

        controller.listeners.append(listen)
        started = time.perf_counter()
        controller.run(study)
        wall = time.perf_counter() - started
        controller.close()
        with store.session() as session:
            jobs = list_jobs(session, JobFilter(study_id=study), limit=1000)
        store.close()
    measured = [j for j in jobs if str(j.label).startswith("seed=")]
    failed = [j.last_error for j in measured if j.state is not JobState.SUCCEEDED]
    if failed:
        raise SystemExit(f"{len(failed)} fits failed, e.g.: {failed[0]}")
    measured.sort(key=lambda j: int(str(j.label).removeprefix("seed=")))
    return Side(wall, cpu[0], [float(j.fom or 0.0) for j in measured])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="4 fits × 10 generations, one round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of both sides (default 3; quick 1)")
    args = parser.parse_args()
    fits, generations = (4, 10) if args.quick else (12, 100)
    rounds = args.rounds or (1 if args.quick else 3)
    policy = SandboxPolicy()
    report = check_sandbox(policy)
    print(report.describe())
    if not report.ok:
        sys.exit(report.message())
    model = str(Path(examples_dir()) / "X-ray_Reflectivity.hgx")
    seeds = list(range(1, fits + 1))
    sides = {"plain": RunnerProcess, "sandboxed": sandboxed_runner_factory(policy)}
    runs: dict[str, list[Side]] = {name: [] for name in sides}
    print(f"\n{fits} fits × {generations} generations of X-ray_Reflectivity, {WORKERS} workers, warm runners")
    for round_number in range(1, rounds + 1):
        for name, runner in sides.items():
            side = one_side(runner, model, seeds, generations)
            runs[name].append(side)
            print(f"  round {round_number}: {name:>9} wall {side.wall:7.2f} s, runner CPU {side.cpu:7.2f} s")
    plain, sandboxed = runs["plain"], runs["sandboxed"]
    if any(side.foms != plain[0].foms for side in [*plain, *sandboxed]):
        sys.exit("the sandbox changed the results: the FOMs differ")
    wall_plain = statistics.median(side.wall for side in plain)
    wall_sandboxed = statistics.median(side.wall for side in sandboxed)
    cpu_ratio = statistics.median(side.cpu for side in sandboxed) / statistics.median(
        side.cpu for side in plain
    )
    print(f"\nmedian wall time: plain {wall_plain:.2f} s, sandboxed {wall_sandboxed:.2f} s (identical FOMs)")
    print(f"runner CPU-time ratio sandboxed / plain: {cpu_ratio:.3f}")
    print(f"wall-time ratio sandboxed / plain: {wall_sandboxed / wall_plain:.3f} (expected ≤ 1.10)")
    time_checks(policy, Path(model), rounds=max(3, rounds))


def time_checks(policy: SandboxPolicy, model: Path, rounds: int) -> None:
    """Seconds per upload check and per study expansion, sandboxed and in a plain child."""
    import shutil

    from metagenx.sandbox import SandboxMode
    from metagenx.untrusted.reader import UntrustedReader

    readers = {"plain": SandboxMode.UNSAFE_OFF, "sandboxed": SandboxMode.REQUIRED}
    print(f"\nchecks of an upload ({rounds} each, a fresh reader process every time):")
    with tempfile.TemporaryDirectory(prefix="metagenx-bench-") as folder:
        os.chmod(folder, 0o755)  # as a server's study folder: readable by the sandbox's uid
        template = Path(folder) / model.name
        shutil.copyfile(model, template)
        study = {"template": template.name, "repeats": 12}
        for name, mode in readers.items():
            reader = UntrustedReader(mode, policy)
            checks, expansions = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                reader.check_model(template, 50 * 2**20)
                checks.append(time.perf_counter() - started)
                started = time.perf_counter()
                reader.expand_study(study, Path(folder), template)
                expansions.append(time.perf_counter() - started)
            print(
                f"  {name:>9}: model check {statistics.median(checks):.2f} s, "
                f"study check (expansion) {statistics.median(expansions):.2f} s"
            )


if __name__ == "__main__":
    main()
