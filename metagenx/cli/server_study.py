"""``metagenx study status|results`` for a study on a server, named by its id (``study 3``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from metagenx.client import ClientError
from metagenx.errors import MetagenxError

if TYPE_CHECKING:
    from metagenx.client import ApiClient


def server_study_id(target: str, server: str | None) -> int | None:
    """The server study ``target`` names, or None for a study folder.

    ``target`` is a server study's id when it is a number (``3`` or ``study 3``) and either
    ``--server`` was given or no folder of that name exists here.
    """
    text = target.strip()
    number = text.removeprefix("study").strip()
    if not number.isdigit():
        if server is not None:
            raise MetagenxError(f"with --server, give a study's id (as 'study 3' or 3), not {target!r}")
        return None
    if server is None and text == number and Path(text).is_dir():
        return None
    return int(number)


def headline(study: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {state}" for state, n in study["counts"].items() if n) or "no jobs"
    return (
        f"study {study['id']} ({escape(study['name'])}, project {escape(study['project'])}): "
        f"[bold]{study['state']}[/]; {study['jobs']} job(s): {counts}"
    )


def show_server_status(console: Console, client: ApiClient, study_id: int) -> None:
    """The study's jobs by state, then each running job's progress (job id, label, generation, best FOM)."""
    study = client.study(study_id)
    console.print(headline(study))
    running = client.jobs(study=study_id, state=["running"], limit=100)["items"]
    if running:
        table = Table("job", "label", "generation", "best FOM", title="Running")
        for job in running:
            progress = job.get("progress") or {}
            best = progress.get("best_fom")
            table.add_row(
                f"job {job['id']}",
                job["label"],
                escape(progress.get("sampling_words") or str(progress.get("generation", "–"))),
                f"{best:.6g}" if best is not None else "–",
            )
        console.print(table)
    console.print(f"results: metagenx study results {study_id} (add --download FOLDER for the files)")


def show_server_results(console: Console, client: ApiClient, study_id: int, download: Path | None) -> None:
    """The study's summary tables; with ``download``, its table, summary and plots saved there."""
    import json

    from metagenx.study.report import StudyResults, summary_tables
    from metagenx.study.results import StudySummary

    answer = client.study_summary(study_id)
    study = answer.pop("study")
    summary = StudySummary.from_dict(answer)
    console.print(headline(study))
    for table in summary_tables(StudyResults(f"{study['name']} (study {study_id})", [], summary, [])):
        console.print(table)
    if download is None:
        return
    download.mkdir(parents=True, exist_ok=True)
    saved = [download / "results.csv", download / "summary.json"]
    saved[0].write_text(client.study_table_csv(study_id), encoding="utf-8")
    saved[1].write_text(json.dumps(answer, indent=2), encoding="utf-8")
    for name in ("fom_distribution.png", "parameter_trends.png"):
        try:
            saved.append(client.download(f"/api/v1/studies/{study_id}/plots/{name}", download / name))
        except ClientError as error:
            if error.status != 404:  # a plot the study has nothing for
                raise
    console.print(f"downloaded {', '.join(p.name for p in saved)} to {download}")
