"""``metagenx tune``: meta-optimize the optimizer's settings for a class of models with Optuna."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Annotated

import typer

from metagenx.cli.app import FITTING, app
from metagenx.cli.console import make_console
from metagenx.cli.options import with_fit_settings
from metagenx.cli.signals import STOP_TUNE, stop_on_signals
from metagenx.engine.settings import FitSettings
from metagenx.solve.settings_file import SettingsFile
from metagenx.solve.tune import TuneSettings, study_name_for

TUNED = ("km", "kr", "population", "strategy", "tolerance", "window", "polish")


@app.command("tune", rich_help_panel=FITTING)
@with_fit_settings
def tune_command(
    models: Annotated[list[Path], typer.Argument(help="Model files of the class to tune for.")],
    trials: Annotated[int, typer.Option("--trials", help="Trials to add to the study.")] = 20,
    budget: Annotated[
        float | None, typer.Option("--budget", help="Wall-time budget of this run, s (default: none).")
    ] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeded solves per model and trial.")] = 3,
    run_budget: Annotated[
        float, typer.Option("--run-budget", help="Cap on each solve, s (a miss costs this).")
    ] = 120.0,
    parallel: Annotated[int, typer.Option("--parallel", help="Trials at once, sharing the workers.")] = 1,
    workers: Annotated[int | None, typer.Option("--workers", help="Fit processes (default: cores).")] = None,
    study: Annotated[
        str | None,
        typer.Option("--study", help="Study name (default: from the model names); reuse to resume."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for best.toml, trials.csv, plots.")
    ] = None,
    data_dir: Annotated[
        Path,
        typer.Option("--data-dir", envvar="METAGENX_DATA_DIR", help="Data directory holding the database."),
    ] = Path("metagenx-data"),
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="METAGENX_DB", help="Database URL (default: SQLite in data dir)."),
    ] = None,
    *,
    settings: FitSettings,
    given_settings: SettingsFile,
) -> None:
    """Tune km, kr, population, DE strategy, convergence, polish and racing for MODELS with Optuna.

    Each trial runs --seeds seeded solves of every model and scores the expected time to
    reach within 1 % of the best FOM known for the model (failures penalised); bad trials
    are pruned after a model. The study is kept in the project's database: run again with
    the same --study (or models) to add trials. Writes best.toml (use it with
    `metagenx fit|solve MODEL --settings best.toml`), trials.csv and Optuna's plots.
    Fit options given here are kept fixed (not tuned).
    """
    del settings
    from metagenx.solve.local import tune
    from metagenx.store import open_store

    console = make_console()
    fixed = {k: v for k, v in given_settings.fit.items() if k not in TUNED and k != "seed"}
    chosen = TuneSettings(
        trials=trials,
        budget=budget,
        seeds=seeds,
        run_budget=run_budget,
        parallel=parallel,
        study_name=study,
        fixed=fixed,
    )
    name = study or study_name_for([str(m) for m in models])
    folder = out if out is not None else Path.cwd() / name.replace(":", "-").replace("+", "_")
    store = open_store(db, data_dir)
    stop = threading.Event()
    try:
        with stop_on_signals(console, STOP_TUNE, stop):
            result = tune(
                models,
                chosen,
                store=store,
                out=folder,
                workers=workers,
                stop=stop,
                on_run=lambda line: console.print(line, highlight=False),
            )
    finally:
        store.close()
    value = result.best_value
    ert = f"{math.exp(value):.1f} s" if value is not None else "n/a"
    console.print(f"study {result.study_name!r} in {result.storage}: {result.trials} trials")
    console.print(f"best: geometric-mean ERT {ert}; fit {result.best_fit}; solve {result.best_solve}")
    for key, path in result.outputs.items():
        console.print(f"  {key}: {path}", highlight=False)
