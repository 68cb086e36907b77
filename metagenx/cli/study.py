"""``metagenx study run|status|results`` and ``metagenx batch``: many fits on this machine's cores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from metagenx.cli.app import MANY_FITS, app
from metagenx.cli.console import make_console
from metagenx.cli.data_options import DataSet, Loader, OutDir, Sequential, dataset_key
from metagenx.cli.executor_options import (
    ExecutorName,
    FallbackLocal,
    SchedulerAddress,
    Workers,
    executor_from_options,
)
from metagenx.cli.options import with_fit_settings
from metagenx.cli.server_options import Server, Token, connect
from metagenx.cli.server_study import server_study_id
from metagenx.cli.signals import RESUMABLE, stop_on_signals
from metagenx.engine.settings import FitSettings
from metagenx.errors import MetagenxError
from metagenx.study.definition import load_study, study_from_dict

if TYPE_CHECKING:  # the store, plots and executors load only when a command runs
    from metagenx.executors import Executor
    from metagenx.study.definition import StudyDefinition
    from metagenx.study.report import StudyResults

study_app = typer.Typer(help="Run a study file (many starts, settings, parameters, data files); see results.")
app.add_typer(study_app, name="study", rich_help_panel=MANY_FITS)

Database = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="METAGENX_DB", help="Job store URL (default: SQLite file in the study folder)."
    ),
]


def run_and_report(
    definition: StudyDefinition, directory: Path, settings: FitSettings, executor: Executor, db: str | None
) -> None:
    """Run with a live display, then print the study summary; exit 1 if any job failed, 130 if interrupted."""
    from metagenx.cli.study_display import StudyDisplay
    from metagenx.study.run import run_study

    console = make_console()
    with stop_on_signals(console, RESUMABLE) as stop, StudyDisplay(console) as display:
        outcome = run_study(
            definition, directory, defaults=settings, executor=executor, db=db, listener=display, stop=stop
        )
    if outcome.results is None:
        done = outcome.summary.counts.get("succeeded", 0)
        total = sum(outcome.summary.counts.values())
        console.print(
            f"interrupted: {done} of {total} fits done, the ones cut short are queued again; resume with "
            f"the same command ('metagenx study results {directory}' writes the tables so far)"
        )
        raise typer.Exit(130)
    print_results(console, directory, outcome.results)
    if outcome.summary.counts.get("failed", 0):
        raise typer.Exit(1)


def print_results(console: Console, directory: Path, results: StudyResults) -> None:
    from metagenx.study.report import summary_tables

    for table in summary_tables(results):
        console.print(table)
    console.print(f"results in {directory}: results.csv, results.json, summary.json, plots, jobs/")


@study_app.command("run")
@with_fit_settings
def study_run(
    study_file: Annotated[Path, typer.Argument(help="Study definition (.toml or .json).")],
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", "-o", help="Study folder (default: ./<study name>).")
    ] = None,
    workers: Workers = None,
    executor: ExecutorName = "local",
    scheduler: SchedulerAddress = None,
    fallback_local: FallbackLocal = False,
    db: Database = None,
    *,
    settings: FitSettings,
) -> None:
    """Run every fit of a study; interrupted, the same command resumes it.

    Fit flags are defaults for every job; the study file's own settings win.
    """
    definition = load_study(study_file)
    chosen = executor_from_options(executor, scheduler, workers, fallback_local=fallback_local)
    run_and_report(definition, out_dir or Path.cwd() / definition.name, settings, chosen, db)


@app.command("batch", rich_help_panel=MANY_FITS)
@with_fit_settings
def batch(
    model: Annotated[Path, typer.Argument(help="Template model file (.hgx or .gx).")],
    data: Annotated[list[str], typer.Argument(help="Data files or glob patterns, fitted one by one.")],
    sequential: Sequential = False,
    dataset: DataSet = "0",
    order: Annotated[
        str,
        typer.Option(
            "--order", help="Order: name, header:<key> (a header value) or column:<n> (a column mean)."
        ),
    ] = "name",
    loader: Loader = "auto",
    out_dir: OutDir = None,
    workers: Workers = None,
    executor: ExecutorName = "local",
    scheduler: SchedulerAddress = None,
    fallback_local: FallbackLocal = False,
    db: Database = None,
    *,
    settings: FitSettings,
) -> None:
    """Fit one template to each data file (in parallel, or in order with --sequential)."""
    values = {
        "name": f"{model.stem}-batch",
        "template": str(model.resolve()),
        "data": {
            "files": [str(Path(d).resolve()) if Path(d).exists() else d for d in data],
            "dataset": dataset_key(dataset),
            "sequential": sequential,
            "order": order,
            "loader": loader,
        },
    }
    definition = study_from_dict(values, Path.cwd())
    chosen = executor_from_options(executor, scheduler, workers, fallback_local=fallback_local)
    run_and_report(definition, out_dir or Path.cwd(), settings, chosen, db)


StudyTarget = Annotated[
    str,
    typer.Argument(
        help="Study folder, or a server study's id (3 or 'study 3'; the server from --server, "
        "METAGENX_SERVER or the client config file)."
    ),
]


@study_app.command("status")
def study_status(
    target: StudyTarget = ".",
    db: Database = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Jobs of a study by state, and what each running fit is doing."""
    study_id = server_study_id(target, server)
    if study_id is not None:
        from metagenx.cli.server_study import show_server_status

        with connect(server, token) as client:
            show_server_status(make_console(highlight=False), client, study_id)
        return
    from metagenx.study.report import print_status

    print_status(make_console(), Path(target), db)


@study_app.command("results")
def study_results(
    target: StudyTarget = ".",
    db: Database = None,
    download: Annotated[
        Path | None,
        typer.Option(
            "--download", help="Server study: folder to save results.csv, summary.json and plots in."
        ),
    ] = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Write and show a study's results table, summary and plots (works on a copied folder too);
    a server study's summary, and its files with --download."""
    study_id = server_study_id(target, server)
    if study_id is not None:
        from metagenx.cli.server_study import show_server_results

        with connect(server, token) as client:
            show_server_results(make_console(highlight=False), client, study_id, download)
        return
    if download is not None:
        raise MetagenxError("--download is for a study on a server; a study folder holds its files already")
    from metagenx.study.report import results_from_folder

    print_results(make_console(), Path(target), results_from_folder(Path(target), db))
