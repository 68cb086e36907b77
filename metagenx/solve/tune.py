"""Meta-optimization: tune the optimizer's settings for a class of models with Optuna.

Each trial draws settings (DE km, kr, population, strategy, convergence tolerance and
window, polish on/off, racing margin and grace), runs ``seeds`` seeded solves of every
model, and scores the expected running time to reach the target, ERT (COCO/BBOB): the time
of all runs (up to the target for those that reached it, the whole run for those that did
not) divided by the number that reached it; a model no run solved costs its total time
times ``seeds + 1``. The target is within ``agree`` (1 %) of the best FOM known for the
model, learned from every run of the study so far (kept in the study's user attributes).
The trial's value is the mean of log ERT over the models; after each model the running
mean is reported and Optuna's median pruner may end a trial early.

The study lives in the project's database (see :mod:`metagenx.solve.tune_storage`), so a
tune resumes and extends: the same study name adds trials to it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metagenx.controller.coordinated import ExecutorShare
from metagenx.engine.settings import STRATEGIES, check_keys
from metagenx.errors import MetagenxError, SettingsError
from metagenx.solve.racing import AGREE
from metagenx.solve.settings import SolveSettings, start_settings
from metagenx.solve.solver import solve_on
from metagenx.solve.starts import Model

log = logging.getLogger(__name__)

BEST_KEY = "best_fom:"
"""Study user attribute prefix: best FOM known per model (key: BEST_KEY + model file name)."""


@dataclass(frozen=True)
class TuneSettings:
    """How to tune.

    Attributes:
        trials: trials to add in this run (to those the study already has).
        budget: wall-time budget of this run, s (no new trial starts after it; None: no limit).
        seeds: seeded solves per model and trial.
        run_budget: wall-time cap of each solve, s (a run that does not reach the target costs this).
        target_reliability: the solves' own stopping target.
        parallel: trials run at once, sharing the executor's slots.
        study_name: Optuna study name (default: from the model file names).
        fixed: fit settings kept fixed (not tuned), e.g. ``{"max_time": 60}``.
    """

    trials: int = 20
    budget: float | None = None
    seeds: int = 3
    run_budget: float = 120.0
    target_reliability: float = 0.9
    parallel: int = 1
    study_name: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.trials < 1 or self.seeds < 1 or self.parallel < 1:
            raise SettingsError("tune needs at least one trial, one seed and one parallel trial")
        if not self.run_budget > 0 or (self.budget is not None and not self.budget > 0):
            raise SettingsError("tune budgets must be positive seconds")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TuneSettings:
        """Build from a mapping (e.g. an API request), naming any unknown key."""
        check_keys(cls, values, "tune")
        return cls(**values)


class TuneInterrupted(MetagenxError):
    """The tune was interrupted: the trial running then is recorded as failed, not scored."""


@dataclass(frozen=True)
class TuneResult:
    """Outcome of a tune: the study, its best settings (``fit`` and ``solve`` tables) and output files."""

    study_name: str
    storage: str
    trials: int
    best_value: float | None
    best_fit: dict[str, Any]
    best_solve: dict[str, Any]
    outputs: dict[str, str]
    table: list[dict[str, Any]] = field(default_factory=list)
    """One row per trial (see :func:`metagenx.solve.tune_report.trial_rows`)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def suggest(trial: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trial's fit settings and solve (racing) settings: the search space."""
    fit = {
        "km": trial.suggest_float("km", 0.3, 1.0),
        "kr": trial.suggest_float("kr", 0.3, 1.0),
        "population": trial.suggest_int("population", 8, 60, log=True),
        "strategy": trial.suggest_categorical("strategy", list(STRATEGIES)),
        "tolerance": trial.suggest_float("tolerance", 1e-4, 3e-2, log=True),
        "window": trial.suggest_int("window", 5, 60, log=True),
        "polish": trial.suggest_categorical("polish", [True, False]),
    }
    racing = {
        "margin": trial.suggest_float("margin", 0.05, 2.0, log=True),
        "grace": trial.suggest_int("grace", 3, 60, log=True),
        "scatter": trial.suggest_float("scatter", 0.0, 0.9),
    }
    return fit, racing


def expected_running_time(times: Sequence[float], hits: Sequence[bool], seeds: int) -> float:
    """ERT in s: total time over runs that reached the target; no hit: total × (seeds + 1)."""
    total = float(sum(times))
    successes = sum(1 for h in hits if h)
    return total / successes if successes else total * (seeds + 1)


def describe_settings(values: dict[str, Any]) -> str:
    """``km 0.684, kr 0.801, population 26, …``: numbers to 3 significant digits."""
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())


def model_key(path: str) -> str:
    return BEST_KEY + Path(path).name


def study_name_for(models: Sequence[str]) -> str:
    return "tune:" + "+".join(sorted(Path(m).stem for m in models))


class Objective:
    """The Optuna objective: seeded solves of every model with the trial's settings."""

    def __init__(
        self,
        models: Sequence[str],
        settings: TuneSettings,
        share: ExecutorShare,
        stop: threading.Event,
        on_run: Callable[[str], None] | None = None,
        abandon: threading.Event | None = None,
        group: str | None = None,
    ) -> None:
        self.models = list(models)
        self.settings = settings
        self.share = share
        self.stop = stop
        self.abandon = abandon
        self.group = group
        self.on_run = on_run
        self.slots = max(1, share.capacity // settings.parallel)
        self.lock = threading.Lock()

    def __call__(self, trial: Any) -> float:
        import optuna

        fit, racing = suggest(trial)
        logs: list[float] = []
        for step, model in enumerate(self.models):
            ert, runs = self.score_model(trial, model, fit, racing)
            trial.set_user_attr(f"runs:{Path(model).name}", runs)
            trial.set_user_attr(f"ert:{Path(model).name}", ert)
            logs.append(math.log(ert))
            trial.report(sum(logs) / len(logs), step)
            if trial.should_prune():
                self.say(
                    f"trial {trial.number}: stopped after {Path(model).name} (pruned: ERT {ert:.3g} s, "
                    "worse than the median of earlier trials)"
                )
                raise optuna.TrialPruned()
        score = sum(logs) / len(logs)
        self.say(
            f"trial {trial.number} done: ERT {math.exp(score):.3g} s ({describe_settings(fit | racing)})"
        )
        return score

    def say(self, line: str) -> None:
        if self.on_run is not None:
            self.on_run(line)

    def score_model(
        self, trial: Any, model: str, fit: dict[str, Any], racing: dict[str, Any]
    ) -> tuple[float, list[dict[str, Any]]]:
        """Run the seeded solves of ``model``; return their ERT (s) and a record of each run."""
        runs = []
        for index in range(self.settings.seeds):
            if self.stop.is_set():
                raise TuneInterrupted(f"trial {trial.number} was interrupted; it does not count")
            settings = SolveSettings(
                fit=start_settings({**fit, **self.settings.fixed, "seed": 1000 * (index + 1)}),
                budget=self.settings.run_budget,
                target_reliability=self.settings.target_reliability,
                slots=self.slots,
                **racing,
            )
            result = solve_on(
                self.share,
                Model(model),
                settings,
                stop_event=self.stop,
                abandon=self.abandon,
                group=self.group,
            )
            if self.stop.is_set():  # the solve was cut short: its figures would mislead the tune
                raise TuneInterrupted(f"trial {trial.number} was interrupted; it does not count")
            best = self.learn_best(trial.study, model, result.fom)
            runs.append({"fom": result.fom, "wall_time": result.wall_time, "trace": result.trace})
            self.say(
                f"trial {trial.number}, {Path(model).name}, solve {index + 1} of {self.settings.seeds}: "
                f"FOM {result.fom:.6g} in {result.wall_time:.3g} s"
            )
            log.info("trial %s %s: FOM %.6g, best known %.6g", trial.number, model, result.fom, best)
        target = self.target(trial.study, model)
        times, hits = run_times(runs, target)
        return expected_running_time(times, hits, self.settings.seeds), runs

    def learn_best(self, study: Any, model: str, fom: float) -> float:
        """Record ``fom`` as the model's best known FOM if it is better; return the best known."""
        with self.lock:
            known = study.user_attrs.get(model_key(model))
            if math.isfinite(fom) and (known is None or fom < known):
                study.set_user_attr(model_key(model), fom)
                return fom
            return float(known) if known is not None else math.inf

    def target(self, study: Any, model: str) -> float:
        best = float(study.user_attrs.get(model_key(model), math.inf))
        return best + AGREE * abs(best)


def run_times(runs: Sequence[dict[str, Any]], target: float) -> tuple[list[float], list[bool]]:
    """Per run: time to ``target`` when reached (hit), else its whole wall time."""
    times, hits = [], []
    for run in runs:
        reached = next((t for t, fom in run["trace"] if fom <= target), None)
        times.append(float(reached if reached is not None else run["wall_time"]))
        hits.append(reached is not None)
    return times, hits


def tune(
    models: Sequence[str | Path],
    settings: TuneSettings,
    *,
    storage: Any,
    out: str | Path,
    share: ExecutorShare,
    stop: threading.Event | None = None,
    on_run: Callable[[str], None] | None = None,
    abandon: threading.Event | None = None,
    group: str | None = None,
) -> TuneResult:
    """Run (or resume) a tune of ``models`` and write best.toml, trials.csv and plots into ``out``.

    ``storage`` is an Optuna storage (see :func:`metagenx.solve.tune_storage.open_tune_storage`).
    Runs on ``share`` (a tune job's share of its controller's executor; see
    :func:`metagenx.solve.local.tune` to run one on this machine). ``stop`` ends the
    tune after the running solves end; ``abandon`` ends it at once, writing nothing
    (:class:`~metagenx.solve.starts.SolveAbandoned`). ``group``: executor group of its fits.
    """
    import optuna

    from metagenx.solve.tune_report import trial_rows, write_report

    paths = [str(Path(m)) for m in models]
    if not paths:
        raise SettingsError("tune needs at least one model file")
    name = settings.study_name or study_name_for(paths)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        load_if_exists=True,
        direction="minimize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )
    # Seeded by the trials already there, so a resumed tune does not redraw the same settings.
    study.sampler = optuna.samplers.TPESampler(seed=len(study.trials), n_startup_trials=8)
    study.set_user_attr("models", [Path(p).name for p in paths])
    stop = stop or threading.Event()
    objective = Objective(paths, settings, share, stop, on_run, abandon, group)
    try:
        study.optimize(
            objective,
            n_trials=settings.trials,
            timeout=settings.budget,
            n_jobs=settings.parallel,
            catch=(),
            callbacks=[lambda s, t: s.stop() if stop.is_set() else None],
        )
    except TuneInterrupted as interrupted:  # Optuna records the trial as failed; the rest stands
        log.info("%s", interrupted)
    outputs, best_fit, best_solve = write_report(study, Path(out), settings.fixed)
    completed = [t for t in study.trials if t.value is not None]
    return TuneResult(
        study_name=name,
        storage=describe_storage(storage),
        trials=len(study.trials),
        best_value=study.best_value if completed else None,
        best_fit=best_fit,
        best_solve=best_solve,
        outputs=outputs,
        table=trial_rows(study),
    )


def describe_storage(storage: Any) -> str:
    url = getattr(getattr(storage, "engine", None), "url", None)
    return url.render_as_string(hide_password=True) if url is not None else str(storage)
