"""Store a study and its expanded jobs; the same study submitted again finds the same jobs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metagenx.solve.job_settings import complete_job_settings
from metagenx.store import JobSpec as StoredSpec
from metagenx.store import Store, StudyKind, add_jobs, ensure_project, ensure_study, file_sha256
from metagenx.study.spec import JobSpec


def stored_spec(spec: JobSpec, checksums: dict[str, str]) -> StoredSpec:
    """The store's view of a study job: file checksums, complete settings (so equal settings give
    equal keys however they were written), and the study details kept in ``overrides``."""
    for path in [spec.model_path, *(d.path for d in spec.data)]:
        if path not in checksums:
            checksums[path] = file_sha256(path)
    return StoredSpec(
        model_path=spec.model_path,
        model_sha256=checksums[spec.model_path],
        seed=spec.seed,
        settings=complete_job_settings(spec.settings),
        data_paths=[d.path for d in spec.data],
        data_sha256=[checksums[d.path] for d in spec.data],
        overrides={
            "label": spec.label,
            "axes": spec.axes,
            "data": [{k: v for k, v in dataclasses.asdict(d).items() if k != "path"} for d in spec.data],
            "parameters": [dataclasses.asdict(o) for o in spec.overrides],
        },
        sequence=spec.sequence,
        depends_on=None,
    )


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
    stored: list[StoredSpec] = []
    key_by_label: dict[str, str] = {}
    for spec in specs:
        base = stored_spec(spec, checksums)
        if spec.depends_on is not None:
            base = dataclasses.replace(base, depends_on=key_by_label[spec.depends_on])
        key_by_label[spec.label] = base.key
        stored.append(base)
    with store.session() as session:
        project_row = ensure_project(session, project, owner)
        study = ensure_study(
            session, project_row, name, kind, definition=definition, directory=str(directory.resolve())
        )
        add_jobs(session, study, stored)
        return study.id
