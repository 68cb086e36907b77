"""``metagenx solve``: the default way to fit when the answer matters: raced starts, polish, confidence."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from metagenx.cli.app import FITTING, app
from metagenx.cli.console import make_console
from metagenx.cli.options import with_fit_settings
from metagenx.cli.signals import STOP_FIT, stop_on_signals
from metagenx.cli.tables import parameter_table, show_posterior
from metagenx.engine.settings import FitSettings
from metagenx.errors import OutputError
from metagenx.solve.local import solve
from metagenx.solve.result import SolveResult
from metagenx.solve.settings import DEFAULT_BUDGET, SolveSettings, start_settings
from metagenx.solve.settings_file import SettingsFile
from metagenx.solve.starts import SolveProgress


@app.command("solve", rich_help_panel=FITTING)
@with_fit_settings
def solve_command(
    model: Annotated[Path, typer.Argument(help="GenX model file (.hgx or .gx, GenX 2 or 3).")],
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget", help=f"Wall-time cap, s (default {DEFAULT_BUDGET:g}); it returns sooner once sure."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Fitted model file to write (default: ./<name>_solve/<name>.hgx)."),
    ] = None,
    target_reliability: Annotated[
        float | None,
        typer.Option(
            "--target-reliability",
            help="Stop once the best answer is the global minimum with at least this probability"
            " (Bayesian bound over agreeing starts; default 0.95).",
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Starts run at once (default: number of cores).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    *,
    settings: FitSettings,
    given_settings: SettingsFile,
) -> None:
    """Find the best fit reliably: race several DE starts, stop the laggards, polish the leader.

    Starts run in parallel, each with its own seed derived from --seed; a start that falls
    clearly behind is stopped and its slot goes to a new start. The solve returns as soon as
    the minima its finished starts found make the best answer the global minimum with
    --target-reliability (an estimate of the basins no start has found yet), or at --budget.
    Writes the fitted .hgx, result.json, parameters.csv, fit.png, fom.png (and SVGs) and solve.json.
    Fit options set the starts' settings; the solve table of a --settings file sets racing.
    """
    del settings  # the starts' settings: solve's own defaults under the file and the given options
    console = make_console(stderr=as_json)
    target = out if out is not None else Path.cwd() / f"{model.stem}_solve" / f"{model.stem}.hgx"
    if target.suffix.lower() not in (".hgx", ".gx"):
        raise OutputError(f"--out {target} must end in .hgx or .gx")
    chosen = solve_settings(given_settings, budget, target_reliability, workers)
    stop = threading.Event()
    with stop_on_signals(console, STOP_FIT, stop), console.status(f"{model.name}: starting") as status:

        def report(p: SolveProgress) -> None:
            status.update(
                f"{model.name}: {p.elapsed:5.0f} s  best FOM {p.best_fom:.6g}  starts: {p.running} running,"
                f" {p.ended} done, {p.agreeing} agree on the best  confidence {p.confidence:.2f}"
            )

        result = solve(model, chosen, out=target, progress=report, stop_event=stop)
    if as_json:
        typer.echo(json.dumps(result.summary(), indent=2))
        return
    show_solve(console, result)


def solve_settings(
    given: SettingsFile, budget: float | None, reliability: float | None, workers: int | None
) -> SolveSettings:
    """SolveSettings from the settings file's [solve] table and [fit] table, then the command's options."""
    values = dict(given.solve)
    for key, value in (("budget", budget), ("target_reliability", reliability), ("slots", workers)):
        if value is not None:
            values[key] = value
    return SolveSettings.from_dict({**values, "fit": start_settings(given.fit)})


def show_solve(console: Console, result: SolveResult) -> None:
    from metagenx.cli.solve_words import agrees, confidence_words, ending_words, start_words, where_words

    console.print(parameter_table(result.best))
    show_posterior(console, result.best)
    starts = Table(
        "start", "seed", "FOM", "same answer", "evaluations", "time, s", "what it did", title="Starts"
    )
    for s in result.starts:
        starts.add_row(
            str(s.start_id),
            str(s.seed),
            f"{s.fom:.6g}",
            "yes" if agrees(s, result.fom) else "no",
            str(s.evaluations),
            f"{s.ended - s.launched:.1f}",
            start_words(s),
        )
    console.print(starts)
    spread = Table("parameter", "best", "mean", "std", "min", "max", title="Spread over agreeing starts")
    for p in result.spread:
        spread.add_row(p.name, *(f"{v:.6g}" for v in (p.best, p.mean, p.std, p.min, p.max)))
    console.print(spread)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    console.print(
        f"best FOM ({result.best.fom_name}) [bold]{result.fom:.6g}[/] in {result.wall_time:.1f} s",
        highlight=False,
    )
    console.print(confidence_words(result), highlight=False)
    console.print(ending_words(result), highlight=False)
    if not result.best.complete:
        console.print(
            "[bold yellow]interrupted:[/] this is the best fit found before the stop, not the solve's "
            "answer (result.json says complete: false); run the solve again for one",
            highlight=False,
        )
    where = where_words(result)
    if where is not None:
        console.print(where, highlight=False)
