"""Watches on the server: a template, then data files pushed one at a time, each content fitted once.

A watch is a study of kind ``watch`` in a project, so the study routes (table, summary,
plots, events) work on it too. Its folder is ``<data_dir>/studies/<owner>/<project>/<watch>/``:
the template under its own name, each pushed file under ``data/<sha256>/<name>``. Jobs
are made by :func:`metagenx.watch.series.queue_file`, as in a local watch: the same bytes
pushed again give the existing job, new bytes under an old name a new job, and a
sequential watch chains each job to the previous one. Data files are never parsed in the
server process: the runner loads them when their job runs (an unreadable file fails its
job with the loader's reason), and an order value from a file header is read by a
reader in the sandbox (:meth:`metagenx.untrusted.UntrustedReader.order_value`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import HTTPException, UploadFile
from pydantic import ValidationError
from sqlalchemy.orm import Session

from metagenx.engine.settings import FitSettings
from metagenx.errors import DataFileError, MetagenxError, RunnerProtocolError
from metagenx.sandbox.errors import LimitExceededError
from metagenx.server.access import check_name, find_named_study, not_found, study_for
from metagenx.server.identity import Account
from metagenx.server.service import Service
from metagenx.server.studies import study_folder
from metagenx.server.submit import check_queue, parse_settings
from metagenx.server.uploads import clean_name, hash_stream, json_object, link_or_copy, save_file
from metagenx.server.watch_schemas import WatchCreate, WatchFilePublic
from metagenx.server.watch_views import file_public
from metagenx.solve.job_settings import SOLVE_KEY, fit_part
from metagenx.store import Project, Study, StudyKind
from metagenx.store.keys import canonical_json
from metagenx.watch.series import (
    DataFile,
    FileFit,
    check_order,
    parse_targets,
    queue_file,
    same_content,
    watch_jobs,
)

LOCKS: dict[int, threading.Lock] = {}
LOCKS_GUARD = threading.Lock()


def watch_lock(watch_id: int) -> threading.Lock:
    """The lock that lets one push at a time decide whether its file is new to the watch."""
    with LOCKS_GUARD:
        return LOCKS.setdefault(watch_id, threading.Lock())


def watch_request(text: str) -> WatchCreate:
    """The ``definition`` form field, checked; 422 naming each problem."""
    values = json_object(text, "definition")
    try:
        request = WatchCreate.model_validate(values)
    except ValidationError as error:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'definition'}: {e['msg']}" for e in error.errors()]
        raise HTTPException(422, "; ".join(problems)) from None
    check_name("project", request.project)
    try:
        check_order(request.order)
        parse_targets(request.targets)
    except MetagenxError as error:
        raise HTTPException(422, str(error)) from None
    from metagenx.engine.data import loader_names

    if request.loader not in ("auto", *loader_names()):
        raise HTTPException(
            422, f"unknown data loader {request.loader!r}; GenX offers: {', '.join(loader_names())}"
        )
    return request


def watch_definition(request: WatchCreate, template_name: str, template_sha256: str) -> dict[str, Any]:
    """What the watch fits and how, as stored with its study (settings complete, seed 1 by default)."""
    settings = parse_settings(request.settings)
    settings["seed"] = 1 if settings["seed"] is None else settings["seed"]
    return {
        "kind": "watch",
        "template": template_name,
        "template_sha256": template_sha256,
        "dataset": request.dataset,
        "sequential": request.sequential,
        "loader": request.loader,
        "loader_options": request.loader_options,
        "settings": settings,
        "order": request.order,
    } | ({"targets": parse_targets(request.targets)} if request.targets else {})


def create_watch(
    session: Session, service: Service, user: Account, request: WatchCreate, template: UploadFile
) -> tuple[Study, bool]:
    """Create the watch, or find it (False) when ``user``'s project has one of that name and definition.

    409 when the name is taken by a study, or by a watch with another template or settings.
    """
    saved = service.save_model(template.file, template.filename)
    definition = watch_definition(request, saved.name, saved.sha256)
    existing = find_named_study(session, user.name, request.project, request.name)
    if existing is not None:
        if existing.kind != StudyKind.WATCH:
            raise HTTPException(
                409,
                f"project {request.project} has a {existing.kind.value} named {request.name!r}; "
                "name the watch anew",
            )
        if canonical_json(existing.definition) != canonical_json(definition):
            raise HTTPException(
                409,
                f"watch {request.name!r} of project {request.project} fits with another template or "
                "settings; name the watch anew",
            )
        return existing, False
    from metagenx.study.submit import submit_study

    folder = study_folder(service, user.name, request.project, request.name)
    link_or_copy(saved.path, folder / saved.name)
    study_id = submit_study(
        service.store,
        project=request.project,
        name=request.name,
        kind=StudyKind.WATCH,
        specs=[],
        directory=folder,
        definition=definition,
        owner=user.name,
    )
    return session.get_one(Study, study_id, populate_existing=True), True


def watch_for(session: Session, user: Account, watch_id: int) -> tuple[Study, Project]:
    """Watch ``watch_id`` and its project if ``user`` may see it, else 404."""
    try:
        study, project = study_for(session, user, watch_id)
    except HTTPException:
        raise not_found("watch", watch_id) from None
    if study.kind != StudyKind.WATCH:
        raise not_found("watch", watch_id)
    return study, project


def file_fit(study: Study) -> FileFit:
    """How each file of the watch is fitted, from its stored definition."""
    definition = study.definition
    return FileFit(
        template=str(Path(study.directory or ".") / definition["template"]),
        dataset=definition["dataset"],
        loader=definition["loader"],
        loader_options=dict(definition["loader_options"]),
        settings=FitSettings.from_dict(fit_part(definition["settings"])),
        sequential=bool(definition["sequential"]),
        template_sha256=definition["template_sha256"],
        solve=definition["settings"].get(SOLVE_KEY),
    )


def push_file(
    service: Service,
    user: Account,
    study: Study,
    upload: UploadFile,
    order_value: float | None,
    order_unit: str | None = None,
) -> WatchFilePublic:
    """Queue a fit of the pushed file unless a job of the watch already fits the same bytes.

    The file is stored by content; its order value, when the watch is ordered by one and the
    pusher did not give it, is read by a child process (a file without it is still fitted).
    """
    label = clean_name(upload.filename, "data")
    upload.file.seek(0, 2)
    if upload.file.tell() == 0:
        raise HTTPException(422, f"the data file {label} is empty")
    sha = hash_stream(upload.file)
    with watch_lock(study.id):
        with service.store.session() as session:
            existing = same_content(watch_jobs(session, study.id, results=False), sha)
        if existing is not None:
            return file_public(existing, created=False)
        target = Path(study.directory or ".") / "data" / sha / label
        if not target.exists():
            save_file(upload.file, target)
        problem = None
        if order_value is None:
            try:
                order_value, order_unit = service.reader.order_quantity(
                    target, study.definition["order"], file_fit(study).loader_options
                )
            except (DataFileError, LimitExceededError, RunnerProtocolError) as error:
                problem = str(error)
        with service.store.session() as session:
            check_queue(session, service, user, 1)
            row = session.get_one(Study, study.id)
            job, created = queue_file(
                session, row, file_fit(study), DataFile(str(target), label, sha, order_value, order_unit)
            )
    service.publish_state(job)
    return file_public(job, created=created, problem=problem)
