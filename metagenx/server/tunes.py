"""Tunes over HTTP: a study of kind ``tune`` whose one job runs Optuna trials of solves.

The models are checked and filed by content like any upload; the study is named after them
and the settings (``tune-<hash>``), so repeating an interrupted submission finds the same
tune. The Optuna study is the user's own (its name is prefixed with the owner): submitting
again with the same ``study_name`` and more ``trials`` resumes and extends it. Budgets are
capped at the server's wall-time limit per fit.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from fastapi import UploadFile
from sqlalchemy.orm import Session

from metagenx.errors import SettingsError
from metagenx.jobs import JobKind, JobSpec
from metagenx.server.access import check_name
from metagenx.server.identity import Account
from metagenx.server.service import Service
from metagenx.server.submit import check_queue, find_existing, queue_one_job_study
from metagenx.server.uploads import link_or_copy
from metagenx.solve.job_settings import TUNE_KEY
from metagenx.store import Job, StudyKind
from metagenx.store.keys import canonical_json

MAX_MODELS = 8


def parse_tune_settings(values: dict[str, Any], wall_limit: float) -> dict[str, Any]:
    """Checked, complete tune settings (422 naming the key), budgets within ``wall_limit`` s."""
    from metagenx.solve.tune import TuneSettings

    given = dict(values)
    given["run_budget"] = min(float(given.get("run_budget", TuneSettings.run_budget)), wall_limit)
    budget = given.get("budget")
    given["budget"] = wall_limit if budget is None else min(float(budget), wall_limit)
    if given.get("study_name") is not None:
        check_name("study_name", str(given["study_name"]))
    return dataclasses.asdict(TuneSettings.from_dict(given))


def submit_tune(
    session: Session,
    service: Service,
    user: Account,
    *,
    project: str,
    models: list[UploadFile],
    settings: dict[str, Any],
) -> tuple[Job, bool]:
    """Find or queue the tune of ``models`` with ``settings``; return (job, created)."""
    check_name("project", project)
    if not models:
        raise SettingsError("a tune needs at least one model file")
    if len(models) > MAX_MODELS:
        raise SettingsError(f"a tune takes at most {MAX_MODELS} model files, got {len(models)}")
    tune = parse_tune_settings(settings, service.settings.limit_wall_seconds)
    saved = [service.save_model(m.file, m.filename) for m in models]
    if len({s.name for s in saved}) != len(saved):
        raise SettingsError("the models of a tune need distinct file names")
    identity = hashlib.sha256(
        canonical_json({"models": sorted(s.sha256 for s in saved), "tune": tune}).encode()
    ).hexdigest()
    name = f"tune-{identity[:20]}"
    tune["study_name"] = f"{user.name}:{tune['study_name'] or project + '/' + name}"
    existing = find_existing(session, user, project, name)
    if existing is not None:
        return existing, False
    check_queue(session, service, user, 1)
    directory = service.settings.studies_dir / user.name / project / name
    local = [directory / s.name for s in saved]
    for source, target in zip(saved, local, strict=True):
        link_or_copy(source.path, target)
    spec = JobSpec(
        kind=JobKind.TUNE,
        label="tune",
        model_path=str(local[0]),
        settings={TUNE_KEY: tune, "models": [str(p) for p in local], "seed": 0},
    )
    definition = {"kind": "tune", "models": [s.name for s in saved], TUNE_KEY: tune}
    job = queue_one_job_study(
        session,
        service,
        user,
        project=project,
        name=name,
        kind=StudyKind.TUNE,
        spec=spec,
        directory=directory,
        definition=definition,
    )
    return job, True
