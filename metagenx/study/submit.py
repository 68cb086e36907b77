"""Store a study and its expanded jobs; the same study submitted again finds the same jobs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metagenx.controller.writes import store_study
from metagenx.errors import SettingsError
from metagenx.jobs import JobKind, JobSpec
from metagenx.solve.job_settings import complete_job_settings, is_solve
from metagenx.store import NewJob, Store, StudyKind


def new_job(spec: JobSpec, checksums: dict[str, str]) -> NewJob:
    """The store's view of a study job: its spec with complete settings (so equal settings give
    equal keys however they were written) and the checksums of its files (read once each)."""
    if is_solve(spec.settings) != (spec.kind is JobKind.SOLVE):
        raise SettingsError(f"job {spec.label!r}: a solve job, and only a solve job, has a 'solve' table")
    complete = dataclasses.replace(spec, settings=complete_job_settings(spec.settings))
    return NewJob.from_files(complete, checksums)


def submit_study(
    store: Store,
    *,
    project: str,
    name: str,
    kind: StudyKind,
    specs: Sequence[JobSpec],
    directory: Path,
    definition: Mapping[str, Any] | None = None,
    owner: str = "local",
) -> int:
    """Create (or find) the study and queue its jobs; return the study id.

    Jobs are keyed by content, so submitting the same study again queues nothing new and
    finished jobs keep their results. Sequential chains (``depends_on``) are linked by key.
    """
    checksums: dict[str, str] = {}
    stored: list[NewJob] = []
    key_by_label: dict[str, str] = {}
    for spec in specs:
        base = new_job(spec, checksums)
        if spec.depends_on is not None:
            base = dataclasses.replace(base, depends_on=key_by_label[spec.depends_on])
        key_by_label[spec.label] = base.key
        stored.append(base)
    return store_study(
        store,
        project=project,
        name=name,
        kind=kind,
        jobs=stored,
        directory=directory,
        definition=definition,
        owner=owner,
    )
