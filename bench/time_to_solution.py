"""Benchmark: time to a trustworthy answer, three sides on equal cores, ERT as in COCO/BBOB.

Per model, on the same machine in one invocation, every side using all ``--cores`` cores:

(a) **GenX**: its own ``DiffEv`` with the file's settings and GenX's own stopping rule (its
    generation budget), capped at ``--genx-cap`` s; one run per core, side by side, each
    process single-threaded, timed per generation.
(b) **restarts**, the strong baseline an expert would use: the same optimizer (the file's
    settings, metagenx's convergence rule, ``metagenx fit``'s kernel choice) restarted with a
    new seed whenever it converges, one restart stream per core, each stream ending at its
    first success or after ``--stream-cap`` s. Every fit of a stream is one trial.
(c) **solve**: ``metagenx solve`` with its defaults (its starts on every core, its own rule to
    return), run to its own end; its seed derives every start's seed, so solves with different
    seeds share no start.

Target: within 1 % of the best-known FOM (``bench/reference_foms.json``, established by long
runs: ``--establish``). Per side: success rate, median time-to-target of the successful
trials, and COCO's expected running time ERT = (time of all trials: up to the target for the
successful ones, whole for the others) / (successful trials). Sides (a) and (b) run one
trial per core at a time, so their wall-clock ERT on the machine is their per-core ERT divided
by the cores; their CPU-seconds ERT is the per-core ERT itself. For (c) the wall-clock ERT
counts each solve up to its time-to-target, its CPU-seconds ERT the CPU time of the solve's
processes, scaled to the time-to-target; its **reliability** is the share of solves whose
answer (what it returned) reaches the target, and **returned / time-to-target** the median
over solves of the time until it returned divided by the time until it first reached the
target. Then the ERT ratios (a)/(c) and (b)/(c), wall and CPU, per model and their geometric
means, and the cost of one FOM evaluation on the kernels metagenx chooses against GenX's own.

Every finished trial is appended to ``--record`` (JSON lines) as soon as it ends; trials already
in that file with the same model, side, seed, limit and target are not run again, so an
interrupted benchmark resumes by running the same command again.

    python bench/time_to_solution.py --record runs.jsonl    # 20 per side and model (hours for GenX)
    python bench/time_to_solution.py --seeds 5 --genx-cap 120
    python bench/time_to_solution.py --quick                # smoke: SuperAdam, 1 seed, small caps
    python bench/time_to_solution.py --establish --models D17_TOF_SiO.hgx   # long runs → reference
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MODELS = ("X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx")
REFERENCE = Path(__file__).with_name("reference_foms.json")
AGREE = 0.01
SINGLE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass
class Run:
    """One trial: time to target (s, None: missed), its whole time (s), its best FOM, its seed.

    ``generations``: GenX generations done (GenX runs only); ``cpu``: CPU time of the trial's
    processes, s (a single-threaded run on a core of its own: equal to ``total``);
    ``returned_fom``: for a solve, the FOM of the answer it returned.
    """

    time_to_target: float | None
    total: float
    fom: float
    seed: int = 0
    generations: int | None = None
    cpu: float | None = None
    returned_fom: float | None = None


@dataclass
class Stream:
    """One restart stream of side (b): its fits in order (each a :class:`Run`), on one core."""

    fits: list[Run] = field(default_factory=list)


def cpu_now() -> float:
    """CPU time of this process and of its ended children, s."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def genx_run(path: str, seed: int, cap: float, target: float, stop_at_target: bool = True) -> Run:
    """Side (a): GenX's DiffEv exactly as the file configures it, one process, stopped at its own
    rule or ``cap``; with ``stop_at_target`` also at the generation that reaches ``target``."""
    import numpy as np

    from metagenx.engine.runtime import genx

    modules = genx()
    controller = modules.model_control.ModelController(modules.diffev.DiffEv())
    controller.load_file(path)
    optimizer = controller.optimizer
    optimizer.opt.use_parallel_processing = False
    model = controller.get_model()
    model.simulate()
    started = [0.0]
    hit: list[float] = []
    best = [math.inf]
    generations = [0]

    class Recorder(modules.diffev.DiffEvDefaultCallbacks):  # type: ignore[misc, name-defined]
        def text_output(self, text: str) -> None:
            pass

        def parameter_output(self, info: Any) -> None:
            elapsed = time.perf_counter() - started[0]
            generations[0] += 1
            best[0] = min(best[0], float(optimizer.best_fom))
            if not hit and best[0] <= target:
                hit.append(elapsed)
            if elapsed > cap or (hit and stop_at_target):
                optimizer.stop = True

    optimizer.set_callbacks(Recorder())
    np.random.seed(seed)
    optimizer.reset()
    optimizer.init_fitting(model)
    cpu = time.process_time()
    started[0] = time.perf_counter()
    optimizer.optimize()
    total = time.perf_counter() - started[0]
    return Run(hit[0] if hit else None, total, best[0], seed, generations[0], time.process_time() - cpu)


class TargetWatch:
    """A fit's progress callback: notes when the best FOM first reaches ``target`` (s into the fit)
    and stops the fit then, or once it has run ``limit`` s."""

    def __init__(self, target: float, limit: float) -> None:
        self.target, self.limit = target, limit
        self.hit: float | None = None
        self.stop = threading.Event()

    def __call__(self, progress: Any) -> None:
        if self.hit is None and progress.best_fom <= self.target:
            self.hit = progress.elapsed
            self.stop.set()
        if progress.elapsed >= self.limit:
            self.stop.set()


def restart_stream(path: str, stream: int, cap: float, target: float) -> Stream:
    """Side (b): ``metagenx fit``'s optimizer restarted whenever it converges, on one core.

    Each fit starts from the file (reloaded, untimed) with its own seed, the file's optimizer
    settings and metagenx's convergence rule, on the kernels ``metagenx fit`` chooses; the
    stream ends at its first fit that reaches ``target`` (timed to that moment) or once its
    fits have taken ``cap`` s (the last fit is cut at the cap)."""
    import numpy as np

    from metagenx.engine.fit import run_fit
    from metagenx.engine.kernels import choose
    from metagenx.engine.model import GenxModel
    from metagenx.engine.settings import FitSettings

    seeds = np.random.SeedSequence(stream).generate_state(1000, dtype=np.uint32)
    result = Stream()
    spent = 0.0
    for seed in (int(s) for s in seeds):
        model = GenxModel.load(path)
        choose(model)
        watch = TargetWatch(target, cap - spent)
        fit = run_fit(model, FitSettings(seed=seed), progress=watch, stop_event=watch.stop)
        total = watch.hit if watch.hit is not None else fit.wall_time
        result.fits.append(Run(watch.hit, total, fit.fom, seed, fit.generations, total))
        spent += total
        if watch.hit is not None or spent >= cap:
            return result
    return result


def solve_run(path: str, seed: int, budget: float | None, target: float, reliability: float | None) -> Run:
    """Side (c): one ``solve`` with its default settings (``budget`` None: its default), run to its end."""
    from metagenx.solve import SolveSettings, solve, start_settings

    settings = SolveSettings(fit=start_settings({"seed": seed}))
    if budget is not None:
        settings = settings.replace(budget=budget)
    if reliability is not None:
        settings = settings.replace(target_reliability=reliability)
    cpu = cpu_now()
    result = solve(path, settings)
    return Run(
        result.time_to(target),
        result.wall_time,
        result.fom,
        seed,
        cpu=cpu_now() - cpu,
        returned_fom=result.fom,
    )


def single_threaded() -> None:
    """Pool initializer: keep a side-by-side run on one core (read by numerical libraries at import)."""
    for name in SINGLE_THREAD:
        os.environ[name] = "1"


def fresh(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function(*args)`` in a fresh spawned process (GenX keeps process-wide state)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def run_key(model: str, side: str, seed: int, limit: float, target: float, stop: bool) -> dict[str, Any]:
    """What makes two trials the same: ``limit`` is GenX's cap, a stream's cap or a solve's budget, s."""
    return {
        "model": model,
        "side": side,
        "seed": seed,
        "limit": limit,
        "target": target,
        "stop_at_target": stop,
    }


class Record:
    """The trials done so far, one JSON line each in ``path`` (None: kept in memory only)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.done: dict[str, Any] = {}
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.done[self.identity(entry["key"])] = entry

    @staticmethod
    def identity(key: dict[str, Any]) -> str:
        return json.dumps(
            {**key, "limit": round(key["limit"], 3), "target": f"{key['target']:.9g}"}, sort_keys=True
        )

    def get_run(self, key: dict[str, Any]) -> Run | None:
        entry = self.done.get(self.identity(key))
        return None if entry is None else Run(**entry["run"])

    def get_stream(self, key: dict[str, Any]) -> Stream | None:
        entry = self.done.get(self.identity(key))
        return None if entry is None else Stream([Run(**fit) for fit in entry["fits"]])

    def keep(self, key: dict[str, Any], entry: dict[str, Any], summary: str) -> None:
        """Keep ``entry`` (appended to the file at once) and say how it went on stderr."""
        entry = {"key": key, **entry}
        self.done[self.identity(key)] = entry
        if self.path is not None:
            with self.path.open("a") as file:
                file.write(json.dumps(entry) + "\n")
        print(f"    {key['model']} {key['side']} seed {key['seed']}: {summary}", file=sys.stderr, flush=True)

    def add_run(self, key: dict[str, Any], run: Run) -> Run:
        outcome = "missed" if run.time_to_target is None else f"target at {run.time_to_target:.1f} s"
        self.keep(key, {"run": asdict(run)}, f"{outcome}, ran {run.total:.1f} s, FOM {run.fom:.6g}")
        return run

    def add_stream(self, key: dict[str, Any], stream: Stream) -> Stream:
        hits = sum(f.time_to_target is not None for f in stream.fits)
        spent = sum(f.total for f in stream.fits)
        self.keep(
            key,
            {"fits": [asdict(f) for f in stream.fits]},
            f"{len(stream.fits)} fits, {hits} hit, {spent:.1f} s",
        )
        return stream


def side_by_side(
    record: Record,
    keys: dict[int, dict[str, Any]],
    work: Callable[..., Any],
    arguments: tuple[Any, ...],
    cores: int,
    stream: bool,
) -> dict[int, Any]:
    """Trials ``work(path, seed, *rest)`` (``arguments`` = ``(path, *rest)``) of ``keys`` (seed →
    key), ``cores`` at a time, one single-threaded process each."""
    get = record.get_stream if stream else record.get_run
    done = {s: found for s, key in keys.items() if (found := get(key)) is not None}
    missing = [s for s in keys if s not in done]
    if missing:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            cores, mp_context=context, initializer=single_threaded, max_tasks_per_child=1
        ) as pool:
            path, *rest = arguments
            futures = {pool.submit(work, path, s, *rest): s for s in missing}
            for future in as_completed(futures):
                seed = futures[future]
                add = record.add_stream if stream else record.add_run
                done[seed] = add(keys[seed], future.result())
    return done


def ert(trials: list[Run], *, whole: bool = False) -> float:
    """COCO's expected running time, s; ``whole``: count every trial's whole time, hit or not.

    With no successful trial the ERT is unbounded; this returns the lower bound it would have
    with one success (the time of all trials), flagged by :func:`solved_none`.
    """
    hits = [r for r in trials if r.time_to_target is not None]
    spent = sum(r.total if whole or r.time_to_target is None else r.time_to_target for r in trials)
    return spent / max(len(hits), 1)


def cpu_ert(solves: list[Run]) -> float:
    """CPU-seconds ERT of solves: each one's CPU time, scaled to its time-to-target when it hit."""
    hits = [r for r in solves if r.time_to_target is not None]
    spent = 0.0
    for run in solves:
        cpu = run.cpu if run.cpu is not None else run.total
        spent += cpu if run.time_to_target is None else cpu * run.time_to_target / max(run.total, 1e-9)
    return spent / max(len(hits), 1)


def solved_none(trials: list[Run]) -> bool:
    return all(r.time_to_target is None for r in trials)


@dataclass
class Side:
    """A side's figures on one model: wall-clock and CPU-seconds ERT on the machine, s."""

    label: str
    trials: list[Run]
    wall_ert: float
    cpu_ert: float

    def line(self, extra: str = "") -> str:
        hits = [r.time_to_target for r in self.trials if r.time_to_target is not None]
        median = f"{statistics.median(hits):6.1f} s" if hits else "     –  "
        bound = ">" if solved_none(self.trials) else " "
        rate = f"{len(hits):>3}/{len(self.trials):<3} ({100 * len(hits) / len(self.trials):3.0f} %)"
        erts = f"{bound}{self.wall_ert:7.1f} s wall, {bound}{self.cpu_ert:7.1f} CPU-s"
        return f"  {self.label:<12} success {rate}  median time-to-target {median}  ERT {erts}{extra}"


def per_core_side(label: str, trials: list[Run], cores: int) -> Side:
    """A side that runs one single-threaded trial per core: wall ERT = per-core ERT / cores."""
    per_core = ert(trials)
    return Side(label, trials, per_core / cores, per_core)


def geometric_mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v) and v > 0]
    return math.exp(sum(math.log(v) for v in finite) / len(finite)) if finite else math.nan


def evaluation_costs(models: list[str], folder: str) -> dict[str, tuple[float, float, str]]:
    """Per model: (GenX's own ms per evaluation, metagenx's chosen ms, the kernels chosen), one core."""
    sys.path.insert(0, str(Path(__file__).parent))
    from kernels import time_side

    costs = {}
    for name in models:
        model = Path(folder) / name
        numba = statistics.median(time_side("numba", model, 100)[1] for _ in range(3))
        numpy = statistics.median(time_side("numpy", model, 100)[1] for _ in range(3))
        chosen = "numba" if numba < numpy else "numpy"
        costs[name] = (1000 * numba, 1000 * min(numba, numpy), chosen)
    return costs


def establish(models: list[str], folder: str, budget: float, seeds: int) -> None:
    """Long solves (reliability 0.999) per model; keep the best FOM seen in the reference file."""
    reference = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}
    for name in models:
        best = min(
            fresh(solve_run, f"{folder}/{name}", 7000 + s, budget, -math.inf, 0.999).fom for s in range(seeds)
        )
        known = reference.get(name, {}).get("fom", math.inf)
        if best < known:
            reference[name] = {
                "fom": best,
                "command": f"python bench/time_to_solution.py --establish --models {name} "
                f"--solve-budget {budget:g} --seeds {seeds}",
                "date": time.strftime("%Y-%m-%d"),
            }
        print(f"{name}: best of {seeds} long solves {best:.6g}; reference {reference[name]['fom']:.6g}")
    REFERENCE.write_text(json.dumps(reference, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--seeds", type=int, default=20, help="trials per side and model (streams for b)")
    parser.add_argument("--streams", type=int, help="restart streams per model (default: --seeds)")
    parser.add_argument("--genx-cap", type=float, default=600.0, help="cap on each GenX run (a), s")
    parser.add_argument("--stream-cap", type=float, default=300.0, help="cap on each restart stream (b), s")
    parser.add_argument("--solve-budget", type=float, help="budget of each solve (c), s (default: solve's)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="cores every side uses")
    parser.add_argument("--record", type=Path, help="JSON lines of finished trials; resumes from it")
    parser.add_argument("--quick", action="store_true", help="smoke: SuperAdam, 1 seed, small caps")
    parser.add_argument("--establish", action="store_true", help="long solves to set the reference FOMs")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    if args.quick:
        args.models, args.seeds, args.genx_cap, args.stream_cap = ["SuperAdam_SiO.hgx"], 1, 5.0, 10.0
        args.solve_budget = args.solve_budget or 20.0
    if not 1 <= args.cores <= (os.cpu_count() or 1):
        parser.error(f"--cores must be between 1 and the number of cores ({os.cpu_count()})")

    from metagenx.engine.runtime import examples_dir

    folder = examples_dir()
    if args.establish:
        establish(args.models, folder, args.solve_budget or 600.0, args.seeds)
        return
    reference = json.loads(REFERENCE.read_text())
    record = Record(args.record)
    budget_text = "its default budget" if args.solve_budget is None else f"budget {args.solve_budget:g} s"
    print(
        f"time to solution on {args.cores} cores per side: (a) GenX, one run per core, capped at "
        f"{args.genx_cap:g} s; (b) restarts, one stream per core, capped at {args.stream_cap:g} s; "
        f"(c) solve, {budget_text}; {args.seeds} trials per side and model; target within "
        f"{100 * AGREE:g} % of the best-known FOM; load average at start {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    seeds = list(range(1, args.seeds + 1))
    streams = list(range(1, (args.streams or args.seeds) + 1))
    limit = args.solve_budget if args.solve_budget is not None else 0.0
    ratios_a: list[float] = []
    ratios_b: list[float] = []
    cpu_ratios_a: list[float] = []
    cpu_ratios_b: list[float] = []
    raw: dict[str, Any] = {}
    for name in args.models:
        target = reference[name]["fom"] * (1 + AGREE)
        path = f"{folder}/{name}"
        genx = side_by_side(
            record,
            {s: run_key(name, "genx", s, args.genx_cap, target, True) for s in seeds},
            genx_run,
            (path, args.genx_cap, target, True),
            args.cores,
            stream=False,
        )
        restarts = side_by_side(
            record,
            {s: run_key(name, "restarts", s, args.stream_cap, target, True) for s in streams},
            restart_stream,
            (path, args.stream_cap, target),
            args.cores,
            stream=True,
        )
        solves = []
        for seed in seeds:
            key = run_key(name, "solve", seed, limit, target, False)
            solves.append(
                record.get_run(key)
                or record.add_run(key, fresh(solve_run, path, seed, args.solve_budget, target, None))
            )
        a = per_core_side("(a) GenX", [genx[s] for s in seeds], args.cores)
        b = per_core_side("(b) restart", [f for s in streams for f in restarts[s].fits], args.cores)
        c = Side("(c) solve", solves, ert(solves), cpu_ert(solves))
        reliable = sum(r.returned_fom is not None and r.returned_fom <= target for r in solves)
        returned = [r.total / r.time_to_target for r in solves if r.time_to_target]
        print(f"{name}: best-known FOM {reference[name]['fom']:.6g}, target ≤ {target:.6g}")
        print(a.line())
        print(b.line())
        after = statistics.median(r.total for r in solves)
        times = statistics.median(returned) if returned else math.nan
        print(
            c.line(
                f"; reliability {reliable}/{len(solves)}; returned after {after:.1f} s, {times:.2f}× its TTT"
            )
        )
        ratio = {
            "a/c": a.wall_ert / c.wall_ert,
            "b/c": b.wall_ert / c.wall_ert,
            "a/c cpu": a.cpu_ert / c.cpu_ert,
            "b/c cpu": b.cpu_ert / c.cpu_ert,
        }
        ratios_a.append(ratio["a/c"])
        ratios_b.append(ratio["b/c"])
        cpu_ratios_a.append(ratio["a/c cpu"])
        cpu_ratios_b.append(ratio["b/c cpu"])
        bound = " (at least: GenX never reached the target)" if solved_none(a.trials) else ""
        print(
            f"  ERT ratios, wall: (a)/(c) {ratio['a/c']:.1f}{bound}, (b)/(c) {ratio['b/c']:.2f}; "
            f"CPU-seconds: (a)/(c) {ratio['a/c cpu']:.1f}, (b)/(c) {ratio['b/c cpu']:.2f}",
            flush=True,
        )
        raw[name] = {
            "target": target,
            "genx": [asdict(r) for r in a.trials],
            "restarts": [asdict(r) for r in b.trials],
            "solve": [asdict(r) for r in solves],
            "ratios": ratio,
        }
    print(
        f"geometric means over {len(args.models)} model(s): wall (a)/(c) {geometric_mean(ratios_a):.1f}, "
        f"(b)/(c) {geometric_mean(ratios_b):.2f}; CPU-seconds (a)/(c) {geometric_mean(cpu_ratios_a):.1f}, "
        f"(b)/(c) {geometric_mean(cpu_ratios_b):.2f}"
    )
    print("cost of one FOM evaluation, one core: GenX's own kernels (numba) vs metagenx's choice")
    for name, (own, chosen, kernels) in evaluation_costs(args.models, folder).items():
        print(f"  {name:<24} GenX {own:6.2f} ms, metagenx {chosen:6.2f} ms ({kernels}): {chosen / own:.2f}")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
