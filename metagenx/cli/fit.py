"""``metagenx fit``: fit one model file with a live progress line, then show and write the results."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

from metagenx.cli.app import FITTING, app
from metagenx.cli.console import make_console
from metagenx.cli.options import with_fit_settings
from metagenx.cli.signals import STOP_FIT, stop_on_signals
from metagenx.cli.tables import parameter_table, show_posterior
from metagenx.engine.fit import Progress, ProgressCallback
from metagenx.engine.posterior import sampling_words
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings
from metagenx.errors import OutputError
from metagenx.outputs.collect import collect, fit_outputs


@app.command("fit", rich_help_panel=FITTING)
@with_fit_settings
def fit_command(
    model: Annotated[Path, typer.Argument(help="GenX model file (.hgx or .gx, GenX 2 or 3).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Fitted model file to write (default: ./<name>_fit/<name>.hgx)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON instead of tables.")
    ] = False,
    *,
    settings: FitSettings,
) -> None:
    """Fit a GenX model headless; write the fitted .hgx, result.json, parameters.csv and plots.

    The plots are fit.png (data, simulation and residuals) and fom.png, each also as SVG.

    Stops on convergence by default (see --tol, --window, --min-spread); Ctrl-C stops
    the fit after the current generation and still writes the best result so far.
    The fit runs in a fit process of its own, unsandboxed: use it on your own files.
    """
    console = make_console(stderr=as_json)
    target = out if out is not None else Path.cwd() / f"{model.stem}_fit" / f"{model.stem}.hgx"
    if target.suffix.lower() not in (".hgx", ".gx"):
        raise OutputError(f"--out {target} must end in .hgx or .gx")
    with stop_on_signals(console, STOP_FIT) as stop, live_progress(console, model.name) as report:
        result = fit_here(model, settings, target, report, stop)
    for note in result.extra.get("notes", []):
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    files = {kind: str(path) for kind, path in collect(target.parent, fit_outputs(target)).files.items()}
    if as_json:
        summary = result.to_dict()
        summary.pop("datasets")
        summary["outputs"] = files
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    show_summary(console, result)
    posterior = ", corner.png, band.png, posterior_draws.csv" if "corner_png" in files else ""
    console.print(
        f"wrote {target} and result.json, parameters.csv, fit.png, fom.png{posterior} (and SVGs) "
        f"in {target.parent}",
        highlight=False,
    )


def fit_here(
    model: Path, settings: FitSettings, target: Path, report: ProgressCallback, stop: threading.Event
) -> FitResult:
    """Fit ``model`` as a job on a controller with one local fit process, its files at ``target``.

    Raises the error the fit ended with (e.g. :class:`ModelScriptError` for a failing script)."""
    from metagenx.api import fit_as_job
    from metagenx.executors import LocalExecutor

    return fit_as_job(
        model,
        settings,
        LocalExecutor(workers=1),
        output=target,
        directory=target.parent,
        progress=report,
        stop=stop,
    )


def show_summary(console: Console, result: FitResult) -> None:
    console.print(parameter_table(result))
    show_posterior(console, result)
    console.print(
        f"FOM ({result.fom_name}) {result.fom_start:.6g} → [bold]{result.fom:.6g}[/] after "
        f"{result.generations} generations, {result.evaluations} evaluations, {result.wall_time:.1f} s "
        f"(seed {result.seed}); stopped: {result.stop_reason.value}",
        highlight=False,
    )
    if not result.complete:
        console.print(
            "[bold yellow]interrupted:[/] these are the best values found before the stop, not a "
            "finished fit (result.json says complete: false)",
            highlight=False,
        )


@contextmanager
def live_progress(console: Console, label: str) -> Iterator[ProgressCallback]:
    """A progress line showing generation, best FOM and evaluations per second; yields the callback."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with RichProgress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"{label}: starting", total=None)
        last = [0.0]

        def report(p: Progress) -> None:
            now = time.monotonic()
            if now - last[0] < 0.1 and p.generation > 0:
                return
            last[0] = now
            if p.sampling is not None:
                words = f"best FOM {p.best_fom:.6g}  {sampling_words(p.sampling)}"
                bar.update(task, description=escape(f"{label}: {words}"))
                return
            rate = p.evaluations / p.elapsed if p.elapsed > 0 else 0.0
            bar.update(
                task,
                description=f"{label}: generation {p.generation}  best FOM {p.best_fom:.6g}"
                f"  {rate:,.0f} evals/s",
            )

        yield report
