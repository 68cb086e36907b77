"""Live terminal view of a running study: overall progress and one line per running fit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBar
from rich.table import Table

from metagenx.engine.posterior import sampling_words
from metagenx.events import (
    Cancelled,
    Crashed,
    Event,
    Failed,
    Finished,
    Progress,
    Started,
    Violation,
    is_terminal,
)
from metagenx.store import JobFilter, JobState, Store, counts_by_state, list_jobs


@dataclass
class RunningFit:
    label: str
    generation: int = 0
    best_fom: float | None = None
    sampling: str | None = None
    """The posterior sampling in words, once the fit has finished and its posterior is sampled."""


@dataclass
class StudyDisplay:
    """A :class:`metagenx.study.run.StudyListener` drawing with rich; use as a context manager."""

    console: Console
    labels: dict[int, str] = field(default_factory=dict)
    running: dict[int, RunningFit] = field(default_factory=dict)
    done: int = 0
    failed: int = 0
    total: int = 0
    best: float | None = None
    live: Live | None = None
    last_draw: float = 0.0

    def __post_init__(self) -> None:
        self.bar = ProgressBar(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        self.task = self.bar.add_task("fits", total=None)

    def __enter__(self) -> StudyDisplay:
        self.live = Live(self.render(), console=self.console, refresh_per_second=4, transient=False)
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self.render())
            self.live.__exit__(None, None, None)

    def attach(self, store: Store, study_id: int) -> None:
        with store.session() as session:
            jobs = list_jobs(session, JobFilter(study_id=study_id), limit=100_000)
            counts = counts_by_state(session, study_id)
        self.labels = {j.id: j.label or f"job {j.id}" for j in jobs}
        self.total = len(jobs)
        self.done = counts.get(JobState.SUCCEEDED, 0)
        self.failed = counts.get(JobState.FAILED, 0) + counts.get(JobState.CANCELLED, 0)
        foms = [j.fom for j in jobs if j.fom is not None and j.state is JobState.SUCCEEDED]
        self.best = min(foms) if foms else None
        self.draw(force=True)

    def __call__(self, event: Event) -> None:
        job_id = event.job_id
        label = escape(self.labels.get(job_id, f"job {job_id}"))
        match event:
            case Started():
                self.running[job_id] = RunningFit(label)
            case Progress(generation=generation, best_fom=best_fom, sampling=sampling):
                fit = self.running.setdefault(job_id, RunningFit(label))
                fit.generation, fit.best_fom = generation, best_fom
                fit.sampling = None if sampling is None else sampling_words(sampling)
            case Finished(result=result):
                self.running.pop(job_id, None)
                self.done += 1
                self.best = result.fom if self.best is None else min(self.best, result.fom)
            case Failed(message=message) | Violation(reason=message):
                self.running.pop(job_id, None)
                self.failed += 1
                self.console.print(f"[red]{label} failed:[/] {escape(message)}", highlight=False)
            case Cancelled():
                self.running.pop(job_id, None)
                self.failed += 1
                self.console.print(f"[red]{label} failed:[/] cancelled", highlight=False)
            case Crashed(reason=reason):
                self.running.pop(job_id, None)
                self.console.print(f"[yellow]{label}: {escape(reason)}[/]", highlight=False)
            case _ if is_terminal(event):
                self.running.pop(job_id, None)
        self.draw()

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.live is None or (not force and now - self.last_draw < 0.25):
            return
        self.last_draw = now
        self.live.update(self.render())

    def render(self) -> Group:
        best = f"{self.best:.6g}" if self.best is not None else "–"
        self.bar.update(
            self.task,
            total=self.total or None,
            completed=self.done + self.failed,
            description=(
                f"done {self.done}  running {len(self.running)}  failed {self.failed}  best FOM {best}"
            ),
        )
        table = Table.grid(padding=(0, 2))
        for fit in list(self.running.values())[:12]:
            fom = f"{fit.best_fom:.6g}" if fit.best_fom is not None else "starting"
            where = escape(fit.sampling) if fit.sampling else f"generation {fit.generation}"
            table.add_row(f"  {fit.label}", where, f"best FOM {fom}")
        return Group(self.bar, table)
