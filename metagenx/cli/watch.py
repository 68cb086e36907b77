"""``metagenx watch``: fit every new data file of a folder during beamtime, with a live table."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from metagenx.cli.app import app
from metagenx.cli.data_options import DataSet, Loader, OutDir, Sequential, dataset_key
from metagenx.cli.executor_options import Workers
from metagenx.cli.options import with_fit_settings
from metagenx.cli.study import Database, interrupt_on_signals
from metagenx.engine.settings import FitSettings

if TYPE_CHECKING:
    from metagenx.store import Store


def series_table(store: Store, study_id: int, columns: int = 3) -> Table:
    """One row per file: state, FOM and the first fitted parameters."""
    from metagenx.store import JobFilter, list_jobs

    with store.session() as session:
        jobs = list_jobs(session, JobFilter(study_id=study_id), limit=10_000)
    names: list[str] = []
    for job in jobs:
        if job.result:
            names = [p["name"] for p in job.result["parameters"]][:columns]
            break
    table = Table("file", "state", "FOM", *names, title="Watched files")
    for job in jobs[-30:]:
        values = {p["name"]: p["value"] for p in job.result["parameters"]} if job.result else {}
        state = job.state.value if job.state.value != "failed" else f"failed: {(job.last_error or '')[:60]}"
        table.add_row(
            str(job.overrides.get("label", job.id)),
            state,
            f"{job.fom:.6g}" if job.fom is not None else "",
            *(f"{values[n]:.6g}" if n in values else "" for n in names),
        )
    return table


@app.command("watch")
@with_fit_settings
def watch_command(
    model: Annotated[Path, typer.Argument(help="Template model file (.hgx or .gx).")],
    folder: Annotated[Path, typer.Argument(help="Folder where data files arrive.")],
    pattern: Annotated[str, typer.Option("--pattern", help="File-name pattern, e.g. '*.dat'.")] = "*",
    dataset: DataSet = "0",
    sequential: Sequential = False,
    loader: Loader = "auto",
    out_dir: OutDir = None,
    workers: Workers = None,
    db: Database = None,
    *,
    settings: FitSettings,
) -> None:
    """Fit each new or changed data file in FOLDER as soon as it is complete; Ctrl-C stops.

    Files that arrived while the watcher was stopped are fitted when it starts again;
    a file with unchanged content is never fitted twice. The series table
    (results.csv) and trend plots are rewritten as fits finish.
    """
    from metagenx.watch.session import WatchConfig, WatchSession

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder", param_hint="FOLDER")
    config = WatchConfig(
        template=model,
        folder=folder,
        pattern=pattern,
        dataset=dataset_key(dataset),
        sequential=sequential,
        settings=settings,
        loader=loader,
    )
    session = WatchSession(config, out_dir or Path.cwd(), workers=workers, db=db)
    console = Console()
    console.print(f"watching {folder} for {pattern}; results in {session.out_dir}; Ctrl-C stops")
    with interrupt_on_signals(console) as stop:
        worker = threading.Thread(target=session.run, args=(stop,), daemon=True)
        worker.start()
        with Live(console=console, refresh_per_second=2) as live:
            while worker.is_alive():
                if session.study_id:
                    live.update(series_table(session.store, session.study_id))
                time.sleep(0.5)
        worker.join()
