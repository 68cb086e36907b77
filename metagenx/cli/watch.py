"""``metagenx watch``: fit each new data file of a folder during beamtime, with a live table.

Locally (own job store and worker processes), or with ``--server`` on a metagenx server:
then the folder is still watched here, but each complete file is pushed to a watch on the
server, which fits it (see :mod:`metagenx.watch.remote`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from metagenx.cli.app import MANY_FITS, app
from metagenx.cli.client import Project
from metagenx.cli.console import make_console
from metagenx.cli.data_options import DataSet, Loader, OutDir, Sequential, dataset_key
from metagenx.cli.executor_options import Workers
from metagenx.cli.options import with_fit_settings
from metagenx.cli.server_options import Server, Token, connect
from metagenx.cli.signals import RESUMABLE, stop_on_signals
from metagenx.cli.study import Database
from metagenx.engine.posterior import sampling_words
from metagenx.engine.settings import FitSettings
from metagenx.events import Event, Progress, is_terminal
from metagenx.solve.settings import DEFAULT_BUDGET, SolveSettings, start_settings
from metagenx.solve.settings_file import SettingsFile

if TYPE_CHECKING:
    from metagenx.store import Store
    from metagenx.watch.series import SeriesRow
    from metagenx.watch.session import WatchConfig

SHOWN_ROWS = 30

LoaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--loader-option",
        help="Loader option KEY=VALUE (repeatable; VALUE as JSON when it parses), e.g. commands=loader.",
    ),
]
Order = Annotated[
    str,
    typer.Option(
        "--order",
        help="x axis of the trend plots: name (arrival order), header:KEY (e.g. header:temperature), "
        "column:NAME.",
    ),
]
Name = Annotated[
    str, typer.Option("--name", help="Name of the watch (default: from folder, pattern, model).")
]
Solve = Annotated[
    bool,
    typer.Option(
        "--solve",
        help="Solve each file (raced starts until confident, as `metagenx solve`) instead of one fit; "
        "fit options then set the starts' settings.",
    ),
]
Target = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        help="σ wanted for a parameter, NAME=SIGMA in the parameter's unit (repeatable), e.g. "
        "SiO.setD=2: each file's verdict says reached, count about N× longer, or not reachable.",
    ),
]
Budget = Annotated[
    float | None,
    typer.Option("--budget", help=f"With --solve: wall-time cap per file, s (default {DEFAULT_BUDGET:g})."),
]


def loader_options(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` items as a dict; a VALUE that parses as JSON is taken as such (numbers, true)."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--loader-option")
        try:
            options[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            options[key.strip()] = text
    return options


def rows_table(rows: Sequence[SeriesRow], title: str = "Watched files", columns: int = 3) -> Table:
    """One row per file (the latest ones): state, order value (if any), FOM, first fitted parameters
    (± the advisor's predicted σ), the targets' verdicts (if any); the latest advice as caption."""
    names = next((list(row.parameters)[:columns] for row in rows if row.parameters), [])
    ordered = any(row.order_value is not None for row in rows)
    judged = any(row.verdicts for row in rows)
    table = Table(
        "file",
        "state",
        *(["order"] if ordered else []),
        "FOM",
        *names,
        *(["verdict"] if judged else []),
        title=title,
        caption=latest_advice(rows),
    )
    for row in rows[-SHOWN_ROWS:]:
        state = row.state if row.state != "failed" else f"failed: {(row.error or '')[:60]}"
        order = [f"{row.order_value:.6g}" if row.order_value is not None else ""] if ordered else []
        verdict = ["; ".join(f"{n}: {v}" for n, v in row.verdicts.items())] if judged else []
        table.add_row(
            escape(row.label),
            escape(state),
            *order,
            f"{row.fom:.6g}" if row.fom is not None else "",
            *(value_cell(row, n) for n in names),
            *(escape(v) for v in verdict),
        )
    return table


def value_cell(row: SeriesRow, name: str) -> str:
    """``1204.9 ± 0.101`` (the advisor's predicted σ), the bare value without one, '' without a value."""
    value = row.parameters.get(name)
    if value is None:
        return ""
    sigma = row.sigma.get(name)
    return f"{value:.6g} ± {sigma:.3g}" if sigma is not None else f"{value:.6g}"


def latest_advice(rows: Sequence[SeriesRow]) -> str | None:
    """The advice line of the latest file that has one, named (None when no file has advice)."""
    latest = next((row for row in reversed(rows) if row.advice), None)
    return None if latest is None else escape(f"advice for {latest.label}: {latest.advice}")


def series_table(
    store: Store, study_id: int, columns: int = 3, targets: dict[str, float] | None = None
) -> Table:
    """The live table of a local watch, from its job store (verdicts on ``targets``)."""
    from metagenx.watch.series import series_rows, watch_jobs

    with store.session() as session:
        rows = series_rows(watch_jobs(session, study_id), targets)
    return rows_table(rows, columns=columns)


@app.command("watch", rich_help_panel=MANY_FITS)
@with_fit_settings
def watch_command(
    model: Annotated[Path, typer.Argument(help="Template model file (.hgx or .gx).")],
    folder: Annotated[Path, typer.Argument(help="Folder where data files arrive.")],
    pattern: Annotated[str, typer.Option("--pattern", help="File-name pattern, e.g. '*.dat'.")] = "*",
    dataset: DataSet = "0",
    sequential: Sequential = False,
    loader: Loader = "auto",
    loader_option: LoaderOption = None,
    order: Order = "name",
    name: Name = "",
    out_dir: OutDir = None,
    workers: Workers = None,
    db: Database = None,
    server: Server = None,
    token: Token = None,
    project: Project = "default",
    solve: Solve = False,
    budget: Budget = None,
    target: Target = None,
    *,
    settings: FitSettings,
    given_settings: SettingsFile,
) -> None:
    """Fit each new or changed data file in FOLDER as soon as it is complete; Ctrl-C stops.

    Files that arrived while the watcher was stopped are fitted when it starts again;
    a file with unchanged content is never fitted twice. The series table
    (results.csv) and trend plots are rewritten as fits finish. With --server, each
    complete file is pushed to a watch on that server, which fits it (--out-dir then
    receives the table and plot when the watcher stops).

    Each fit is followed by advice (when the data carry error bars): the σ of each parameter
    predicted from the Fisher information (errors taken as counting errors), how it shrinks
    by counting longer (σ ∝ 1/√time), the pairs the data cannot separate, and with --target
    a verdict per file.
    """
    from metagenx.watch.session import WatchConfig

    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder", param_hint="FOLDER")
    if budget is not None and not solve:
        raise typer.BadParameter("--budget is the budget of a solve: give --solve too", param_hint="--budget")
    solve_table = solve_table_for(given_settings, budget) if solve else None
    if solve_table is not None:
        settings = start_settings(given_settings.fit)
    config = WatchConfig(
        template=model,
        folder=folder,
        pattern=pattern,
        dataset=dataset_key(dataset),
        sequential=sequential,
        settings=settings,
        loader=loader,
        loader_options=loader_options(loader_option or []),
        order=order,
        name=name,
        solve=solve_table,
        targets=targets_of(target or []),
    )
    if server is not None or token is not None:
        if workers is not None or db is not None:
            raise typer.BadParameter("--workers and --db are for a local watch; the server runs the fits")
        watch_on_server(config, server, token, project, out_dir)
    else:
        watch_here(config, out_dir or Path.cwd(), workers, db)


def targets_of(items: Sequence[str]) -> dict[str, float]:
    """``--target`` items as parameter → σ wanted (typer's BadParameter naming a bad one)."""
    from metagenx.errors import MetagenxError
    from metagenx.watch.series import parse_targets

    try:
        return parse_targets(items)
    except MetagenxError as error:
        raise typer.BadParameter(str(error), param_hint="--target") from None


def solve_table_for(given: SettingsFile, budget: float | None) -> dict[str, Any]:
    """The ``solve`` table of each file's job: the settings file's [solve] table, then --budget (checked)."""
    table = dict(given.solve) | ({"budget": budget} if budget is not None else {})
    SolveSettings.from_dict({**table, "fit": start_settings(given.fit)})
    return table


def watch_here(config: WatchConfig, out_dir: Path, workers: int | None, db: str | None) -> None:
    """Fit on this machine, with the job store and results in ``out_dir``."""
    from metagenx.watch.session import WatchSession

    session = WatchSession(config, out_dir, workers=workers, db=db)
    sampling = SamplingLines()
    session.listeners.append(sampling)
    console = make_console()
    console.print(f"watching {config.folder} for {config.pattern}; results in {out_dir}; Ctrl-C stops")
    with stop_on_signals(console, RESUMABLE) as stop:
        show_live(
            console,
            session.run,
            stop,
            lambda: (
                sampling.under(series_table(session.store, session.study_id, targets=config.targets))
                if session.study_id
                else None
            ),
        )


def watch_on_server(
    config: WatchConfig, server: str | None, token: str | None, project: str, out_dir: Path | None
) -> None:
    """Push complete files to a watch on the server and show its series live."""
    from metagenx.watch.remote import RemoteWatch

    console = make_console()
    with connect(server, token) as client:
        remote = RemoteWatch(config, client, project)
        watch_id = remote.open()
        console.print(
            f"watching {config.folder} for {config.pattern}; fitting on {client.config.server} "
            f"(watch {watch_id}, project {project}); Ctrl-C stops"
        )

        def table() -> Table:
            note = f" ({len(remote.problems)} push problem(s))" if remote.problems else ""
            return rows_table(remote.rows(), title=f"Watch {watch_id} on the server{note}")

        with stop_on_signals(
            console, "stopping: files are no longer pushed; the server goes on fitting"
        ) as stop:
            show_live(console, remote.run, stop, table)
        for problem in remote.problems[-10:]:
            console.print(f"[red]not pushed:[/] {escape(problem)}")
        if out_dir is not None:
            for path in remote.export(out_dir):
                console.print(f"saved {path}")


class SamplingLines:
    """A controller listener keeping, per running fit, its posterior sampling in words (while it is
    sampled), shown under a watch's table."""

    def __init__(self) -> None:
        self.words: dict[int, str] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress) and event.sampling is not None:
            self.words[event.job_id] = sampling_words(event.sampling)
        elif is_terminal(event) or isinstance(event, Progress):
            self.words.pop(event.job_id, None)

    def under(self, table: Table) -> RenderableType:
        lines = [f"job {job_id}: {words}" for job_id, words in sorted(self.words.items())]
        return Group(table, *(Text(line) for line in lines)) if lines else table


def show_live(
    console: Console,
    work: Callable[[threading.Event], None],
    stop: threading.Event,
    table: Callable[[], RenderableType | None],
) -> None:
    """Run ``work(stop)`` in a thread, showing ``table()`` twice a second until it ends."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work(stop)
        except BaseException as error:  # shown by the main thread
            failure.append(error)
            stop.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    with Live(console=console, refresh_per_second=2) as live:
        while worker.is_alive():
            current = table()
            if current is not None:
                live.update(current)
            time.sleep(0.5)
    worker.join()
    if failure:
        raise failure[0]
