"""Client commands against a metagenx server: ``submit``, ``status``, ``results``, ``cancel``.

Server and token: ``--server``/``--token``, else ``METAGENX_SERVER``/``METAGENX_TOKEN``,
else the client config file (see :mod:`metagenx.client`). Submitting is
idempotent: running the same ``submit`` again (after a network error or a server restart)
finds the jobs it made instead of making new ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from metagenx.cli.app import SERVER, app
from metagenx.cli.console import make_console
from metagenx.cli.options import with_fit_settings
from metagenx.cli.server_options import Server, Token, connect
from metagenx.client import ClientError
from metagenx.engine.settings import FitSettings
from metagenx.solve.settings import DEFAULT_BUDGET
from metagenx.solve.settings_file import SettingsFile

if TYPE_CHECKING:
    from metagenx.client import ApiClient

Project = Annotated[str, typer.Option("--project", "-p", help="Project to file the jobs under.")]


@app.command("submit", rich_help_panel=SERVER)
@with_fit_settings
def submit_command(
    models: Annotated[list[Path], typer.Argument(help="GenX model file(s), .hgx or .gx; one fit each.")],
    study: Annotated[
        Path | None, typer.Option("--study", help="Study file (TOML/JSON); the one MODEL is its template.")
    ] = None,
    project: Project = "default",
    server: Server = None,
    token: Token = None,
    solve: Annotated[
        bool,
        typer.Option("--solve", help="Solve each model (raced starts until confident) instead of one fit."),
    ] = False,
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            help=f"With --solve: wall-time cap, s (default {DEFAULT_BUDGET:g}); it returns sooner once sure.",
        ),
    ] = None,
    *,
    settings: FitSettings,
    given_settings: SettingsFile,
) -> None:
    """Submit fits, solves (--solve) or a study to a server; prints each new job as 'job 12' (a study:
    'study 3') on its own line.

    Safe to repeat: fits already submitted are found again, not duplicated. With --solve, fit
    options set the starts' settings and a --settings file's [solve] table the racing.
    """
    console = make_console(stderr=True, highlight=False)
    if (solve and study is not None) or (budget is not None and not solve):
        raise ClientError("--solve is for model files (not --study), and --budget needs --solve")
    for model in models:
        if not model.is_file():
            raise ClientError(f"model file {model} does not exist")
    with connect(server, token) as client:
        if study is not None:
            if len(models) != 1:
                raise ClientError("--study takes exactly one model (the study's template)")
            definition, files = study_upload(models[0], study, settings)
            answer = client.submit_study(definition, files, project)
            new = "submitted" if answer["created"] else "already submitted, nothing new"
            console.print(f"study {answer['id']} ({escape(answer['name'])}): {answer['jobs']} job(s), {new}")
            console.print(
                f"follow it with: metagenx study status {answer['id']}; "
                f"its results: metagenx study results {answer['id']}"
            )
            typer.echo(f"study {answer['id']}")
            return
        wanted = {k: v for k, v in settings.to_dict().items() if v != FitSettings().to_dict()[k]}
        if solve:
            wanted = dict(given_settings.fit) | {
                "solve": dict(given_settings.solve) | ({"budget": budget} if budget is not None else {})
            }
        for model in models:
            job = client.submit_model(model, wanted, project)
            note = "queued" if job["created"] else f"already submitted, {job['state']}"
            console.print(
                f"{escape(model.name)}: job {job['id']} ({note}); follow it: metagenx status {job['id']}"
            )
            typer.echo(f"job {job['id']}")


def study_upload(
    model: Path, study: Path, settings: FitSettings
) -> tuple[dict[str, Any], list[tuple[str, Path]]]:
    """The study's definition for the server and its files: the model as template, the data files
    under their paths relative to the study file's folder."""
    from metagenx.study.definition import load_study
    from metagenx.study.expand import find_files
    from metagenx.study.run import with_defaults

    definition = with_defaults(load_study(study), settings)
    values = definition.to_dict()
    values["template"] = model.name
    files = [(model.name, model)]
    if definition.data is not None:
        base = Path(definition.base_dir)
        names: list[str] = []
        for found in map(Path, find_files(definition, definition.data)):
            name = found.relative_to(base).as_posix() if found.is_relative_to(base) else found.name
            if name in names or name == model.name:
                raise ClientError(f"two files would be uploaded as {name}; keep data files in one folder")
            names.append(name)
            files.append((name, found))
        values["data"]["files"] = names
    return values, files


@app.command("status", rich_help_panel=SERVER)
def status_command(
    job_id: Annotated[
        int | None,
        typer.Argument(help="A job to show (default: your latest jobs); a study: metagenx study status ID."),
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow the job live to its end.")] = False,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Only this project.")] = None,
    last: Annotated[int, typer.Option("--last", help="How many of the latest jobs to list.")] = 20,
    server: Server = None,
    token: Token = None,
) -> None:
    """Show your latest jobs, or one job (with --follow: a live progress bar until it ends)."""
    console = make_console(highlight=False)
    with connect(server, token) as client:
        if job_id is None:
            show_jobs(console, client, project, last)
            return
        job = follow_job(console, client, job_id) if follow else client.job(job_id)
    show_job(console, job)
    if follow and job["state"] != "succeeded":
        raise typer.Exit(1)


def show_jobs(console: Console, client: ApiClient, project: str | None, last: int) -> None:
    """The ``last`` newest jobs, newest first (as the dashboard lists them)."""
    total = client.jobs(project=project, limit=1)["total"]
    page = client.jobs(project=project, offset=max(0, total - last), limit=max(1, last))
    shown = sorted(page["items"], key=lambda job: job["id"], reverse=True)
    title = f"{total} job(s), newest first" + (f"; the latest {len(shown)}" if len(shown) < total else "")
    table = Table("job", "project", "model", "label", "state", "FOM", "generation", title=title)
    for job in shown:
        progress = job.get("progress") or {}
        fom = job["fom"] if job["fom"] is not None else progress.get("best_fom")
        table.add_row(
            f"job {job['id']}",
            job["project"],
            job["model"],
            job["label"],
            job["state"],
            f"{fom:.6g}" if fom is not None else "",
            str(progress.get("generation", "")),
        )
    console.print(table)


def show_job(console: Console, job: dict[str, Any]) -> None:
    progress = job.get("progress") or {}
    where = f"{escape(job['model'])}, project {escape(job['project'])}"
    console.print(f"job {job['id']} ({where}): [bold]{job['state']}[/]")
    if job["fom"] is not None or progress:
        console.print(
            f"FOM {job['fom'] if job['fom'] is not None else progress.get('best_fom')}, generation "
            f"{progress.get('generation')}, {progress.get('evaluations')} evaluations"
        )
    if job["state"] == "running" and progress.get("sampling_words"):
        console.print(escape(progress["sampling_words"]), highlight=False)
    if job.get("error"):
        console.print(f"[red]error:[/] {escape(job['error'])}")
    for artifact in job.get("artifacts", []):
        console.print(f"  {artifact['kind']}: {artifact['name']} ({artifact['size']} bytes)")


def follow_job(console: Console, client: ApiClient, job_id: int) -> dict[str, Any]:
    """A live progress bar (generations; best FOM) from the job's event stream; returns the final job."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    job = client.job(job_id)
    total = job["settings"].get("max_generations")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[fom]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"job {job_id}: {job['state']}", total=total, fom="")
        for kind, data in client.events(f"/api/v1/jobs/{job_id}/events"):
            if kind == "progress":
                fom = f"best FOM {data['best_fom']:.6g}" if data.get("best_fom") is not None else ""
                if data.get("sampling_words"):
                    fom = escape(f"{fom}; {data['sampling_words']}")
                bar.update(task, completed=data.get("generation") or 0, fom=fom)
            elif kind in ("state", "end"):
                bar.update(task, description=f"job {job_id}: {data['state']}")
            if kind == "end" and data["state"] == "succeeded":
                bar.update(task, completed=total or 1, total=total or 1, fom=f"FOM {data['fom']:.6g}")
    return client.job(job_id)


@app.command("results", rich_help_panel=SERVER)
def results_command(
    job_id: Annotated[int, typer.Argument(help="The job.")],
    download: Annotated[
        Path | None, typer.Option("--download", help="Folder to save the fitted model, result and plots in.")
    ] = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Show a job's fitted parameters and FOM; --download saves its files (fitted .hgx, JSON, CSV, PNGs)."""
    from metagenx.cli.tables import parameter_table, show_posterior
    from metagenx.engine.result import FitResult

    console = make_console(highlight=False)
    with connect(server, token) as client:
        job = client.job(job_id)
        if job["result"] is None:
            show_job(console, job)
            raise ClientError(f"job {job_id} is {job['state']} and has no result")
        result = FitResult.from_dict(job["result"])
        console.print(parameter_table(result))
        show_posterior(console, result)
        console.print(f"FOM ({result.fom_name}) {result.fom:.6g}; stopped: {result.stop_reason.value}")
        if not result.complete:
            console.print(
                f"[bold yellow]partial:[/] job {job_id} is {job['state']}; these are the best values "
                "found before it was stopped, not a finished fit"
            )
        if download is not None:
            for artifact in job["artifacts"]:
                path = client.download(artifact["url"], download / artifact["name"])
                console.print(f"downloaded {path}")


@app.command("cancel", rich_help_panel=SERVER)
def cancel_command(
    job_id: Annotated[int, typer.Argument(help="The job to cancel.")],
    server: Server = None,
    token: Token = None,
) -> None:
    """Cancel a queued or running job (a running fit is stopped at once)."""
    with connect(server, token) as client:
        job = client.cancel(job_id)
    typer.echo(f"job {job['id']}: {job['state']}")
