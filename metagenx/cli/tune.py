"""``metagenx tune``: meta-optimize the optimizer's settings for a class of models with Optuna."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from metagenx.cli.app import FITTING, app, state
from metagenx.cli.console import make_console
from metagenx.cli.options import with_fit_settings
from metagenx.cli.signals import STOP_TUNE, stop_on_signals
from metagenx.engine.settings import FitSettings
from metagenx.solve.settings_file import SettingsFile
from metagenx.solve.tune import TuneResult, TuneSettings, study_name_for

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
    quiet_optuna()
    data_dir = data_dir.resolve()
    console.print(where_data_lives(data_dir, db), highlight=False)
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
    show_tune(console, result)


def quiet_optuna() -> None:
    """Optuna's own log lines (one per trial, 16-digit numbers) only with ``metagenx --debug``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if state.debug else optuna.logging.WARNING)


def where_data_lives(data_dir: Path, db: str | None) -> str:
    """One line: where the tune's job and its Optuna study are kept (and that the folder is new)."""
    new = "" if data_dir.exists() else " (a new folder)"
    store = "the database given by --db/METAGENX_DB" if db else f"{data_dir / 'metagenx.db'}"
    return (
        f"tune data in {data_dir}{new}: the tune job in {store}, its Optuna study beside it; "
        "choose the folder with --data-dir or METAGENX_DATA_DIR"
    )


def show_tune(console: Console, result: TuneResult) -> None:
    """The tune's best settings (3 significant digits), what its score means and its files."""
    from metagenx.solve.tune import describe_settings

    value = result.best_value
    console.print(
        f"study {result.study_name!r} in {result.storage}: {result.trials} trial(s)", highlight=False
    )
    if value is None:
        console.print("no trial finished, so there are no best settings yet", highlight=False)
    else:
        console.print(
            f"best: ERT {math.exp(value):.3g} s, the expected time for a solve to reach the best known FOM "
            "(within 1 %), geometric mean over the models",
            highlight=False,
        )
        console.print(f"  fit settings: {describe_settings(result.best_fit)}", highlight=False)
        if result.best_solve:
            console.print(f"  solve settings: {describe_settings(result.best_solve)}", highlight=False)
    outputs = result.outputs
    if "settings" in outputs:
        best = outputs["settings"]
        console.print(f"best settings: {best} (use: metagenx solve MODEL --settings {best})", highlight=False)
    if "trials_csv" in outputs:
        console.print(f"every trial: {outputs['trials_csv']}", highlight=False)
    plots = [Path(path).name for key, path in outputs.items() if key.endswith(("_png", "_html"))]
    if plots:
        folder = Path(next(p for k, p in outputs.items() if k.endswith(("_png", "_html")))).parent
        console.print(f"Optuna's plots in {folder}: {', '.join(plots)}", highlight=False)
