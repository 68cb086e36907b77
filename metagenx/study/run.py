"""Run a study on this machine: store it, run its jobs on an executor, write its results.

A study directory is self-describing: ``study.json`` (the definition with absolute
paths), ``metagenx.db`` (the job store, unless another database is named), ``jobs/``
(every fit's outputs) and the results (``results.csv``, ``results.json``,
``summary.json`` and plots). Running the same study again resumes it: finished jobs
are kept, interrupted ones run again.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from metagenx.controller import Controller, RunSummary
from metagenx.engine.settings import FitSettings
from metagenx.events import Event
from metagenx.executors import Executor, LocalExecutor
from metagenx.outputs.files import write_atomic
from metagenx.store import Store, StudyKind, open_store
from metagenx.study.definition import StudyDefinition
from metagenx.study.report import DEFINITION_FILE, StudyResults, write_study_results
from metagenx.study.submit import submit_study

PROJECT = "local"


class StudyListener(Protocol):
    """Follows a running study (e.g. a live terminal display); called on the controller's thread."""

    def attach(self, store: Store, study_id: int) -> None:
        """Called once the study is stored, before its jobs run."""

    def __call__(self, event: Event) -> None:
        """Called with every event after the controller recorded it."""


@dataclass(frozen=True)
class StudyRun:
    """What a run left: the study's id in its store, the job counts, where the results are
    (None when interrupted: the tables are written when the study is done, or on request by
    ``metagenx study results``)."""

    study_id: int
    directory: Path
    summary: RunSummary
    results: StudyResults | None


def with_defaults(definition: StudyDefinition, defaults: FitSettings | None) -> StudyDefinition:
    """The study with ``defaults`` (e.g. command-line flags) under its own settings.

    Only defaults that differ from :class:`FitSettings`'s own defaults are added; the
    study file's settings win where both name a setting.
    """
    if defaults is None:
        return definition
    baseline = FitSettings().to_dict()
    chosen = {k: v for k, v in defaults.to_dict().items() if v != baseline[k]}
    return dataclasses.replace(definition, settings={**chosen, **definition.settings})


def study_kind(definition: StudyDefinition) -> StudyKind:
    return StudyKind.BATCH if definition.data is not None else StudyKind.STUDY


def run_study(
    definition: StudyDefinition,
    directory: Path,
    *,
    defaults: FitSettings | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    db: str | None = None,
    listener: StudyListener | None = None,
    stop: threading.Event | None = None,
    store: Store | None = None,
) -> StudyRun:
    """Expand, store and run ``definition`` in ``directory``; write its results when done.

    Raises :class:`metagenx.errors.StudyDefinitionError` (bad axes, unknown parameters)
    before anything runs. ``stop`` interrupts: running fits are killed and re-queued, and
    calling this again with the same study resumes it.
    """
    from metagenx.study.expand import expand

    definition = with_defaults(definition, defaults)
    specs = expand(definition)
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(
        directory / DEFINITION_FILE, json.dumps(definition.to_dict(absolute=True), indent=2).encode()
    )
    own_store = store is None
    store = store or open_store(db, directory)
    try:
        study_id = submit_study(
            store,
            project=PROJECT,
            name=definition.name,
            kind=study_kind(definition),
            specs=specs,
            directory=directory,
            definition=definition.to_dict(absolute=True),
        )
        controller = Controller(store, executor or LocalExecutor(workers=workers))
        if listener is not None:
            listener.attach(store, study_id)
            controller.listeners.append(listener)
        controller.recover()
        try:
            summary = controller.run(study_id, stop)
        finally:
            controller.close()
        results = None if summary.interrupted else write_study_results(store, study_id, directory)
        return StudyRun(study_id, directory, summary, results)
    finally:
        if own_store:
            store.close()
