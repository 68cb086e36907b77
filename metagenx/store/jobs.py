"""Job life cycle: submit, claim, finish, fail, cancel, retry, recover after a controller crash.

The controller is the only caller. Each function works inside the caller's session and
only flushes; the session's transaction commits (see :meth:`metagenx.store.db.Store.session`).
Every state change also records a ``state`` event.

Attempts and the crash budget:

* :func:`claim_next` starts a run and charges it: ``runs += 1, attempts += 1``.
* :func:`fail` with ``retryable=True`` (the fit's process died) re-queues the job while
  ``attempts < max_attempts``, else fails it with the reason: with the default
  ``max_attempts=2`` a job that kills its process twice is failed, not retried forever.
* :func:`requeue_running` (controller restart) puts runs that died *with the controller*
  back in the queue and refunds their attempt (``attempts -= 1, interruptions += 1``): a
  Ctrl-C, ``kill -9`` or reboot of the controller is not the job's fault. ``runs`` keeps
  counting every start, so events of the lost run are told apart from the rerun's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from metagenx.engine.result import FitResult
from metagenx.jobs import DataAssignment, JobSpec, ParameterOverride
from metagenx.store.errors import JobStateError, StoreError
from metagenx.store.keys import NewJob, data_options
from metagenx.store.models import Event, EventKind, Job, JobState, Project, Study, utcnow
from metagenx.store.sql import dialect_name, insert_ignoring_conflicts

_CHUNK = 500
_CLAIM_TRIES = 20
CANCELLED_ON_REQUEST = "cancelled on request"


def add_jobs(session: Session, study: Study, specs: Sequence[NewJob]) -> list[Job]:
    """The jobs for ``specs`` in ``study``, in the order of ``specs``: new keys are queued,
    known keys give the existing job as it is (finished jobs are not rerun).

    Idempotent, and safe when two sessions submit the same specs at once. A spec's
    ``depends_on`` must be the key of another spec in ``specs`` or of a job of the study.
    """
    keys = [spec.key for spec in specs]
    wanted = dict(zip(keys, specs, strict=True))
    dependencies = {spec.depends_on for spec in specs if spec.depends_on}
    known = _jobs_by_key(session, study.id, list(wanted.keys() | dependencies))
    new = {key: spec for key, spec in wanted.items() if key not in known}
    missing = dependencies - known.keys() - new.keys()
    if missing:
        raise StoreError(f"{len(missing)} job(s) depend on a job that is not in study {study.name!r}")
    if new:
        owner = session.execute(select(Project.owner).where(Project.id == study.project_id)).scalar_one()
        now = utcnow()
        rows = [_row(study, owner, key, spec, known, now) for key, spec in new.items()]
        session.execute(insert_ignoring_conflicts(session, Job, ("study_id", "key")), rows)
        known = _jobs_by_key(session, study.id, list(wanted.keys() | dependencies))
        for key, spec in new.items():
            job = known[key]
            if spec.depends_on and job.depends_on_job_id is None:
                job.depends_on_job_id = known[spec.depends_on].id
        session.flush()
    return [known[key] for key in keys]


def claim_next(
    session: Session,
    study_id: int | None,
    worker: str,
    *,
    owner: str | None = None,
    exclude_owners: Collection[str] = (),
) -> Job | None:
    """Start the oldest claimable queued job (of ``study_id``/``owner`` when given), or None.

    Claimable: queued, its dependency (if any) succeeded, and its owner not in
    ``exclude_owners`` (e.g. users at their limit of running fits). The job becomes running with
    ``attempts += 1``, ``started_at`` now and ``worker`` set. Two sessions never get the
    same job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a guarded update everywhere).
    """
    dependency = aliased(Job)
    ready = or_(
        Job.depends_on_job_id.is_(None),
        exists().where(dependency.id == Job.depends_on_job_id, dependency.state == JobState.SUCCEEDED),
    )
    query = select(Job.id).where(Job.state == JobState.QUEUED, ready).order_by(Job.id).limit(1)
    if study_id is not None:
        query = query.where(Job.study_id == study_id)
    if owner is not None:
        query = query.where(Job.owner == owner)
    if exclude_owners:
        query = query.where(Job.owner.not_in(list(exclude_owners)))
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Job)
    for _ in range(_CLAIM_TRIES):
        job_id = session.execute(query).scalar_one_or_none()
        if job_id is None:
            return None
        claim = (
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(
                state=JobState.RUNNING,
                attempts=Job.attempts + 1,
                runs=Job.runs + 1,
                started_at=utcnow(),
                finished_at=None,
                worker=worker,
            )
        )
        outcome = session.connection().execute(claim)
        if isinstance(outcome, CursorResult) and outcome.rowcount == 1:
            job = _get(session, job_id)
            _state_event(session, job, JobState.QUEUED, worker=worker)
            return job
    return None  # another claimer kept winning the race; the caller simply asks again


def finish(session: Session, job: Job | int, result: FitResult, *, keep_curves: bool = False) -> Job:
    """Record the result of a running job, which succeeds; an incomplete result (a fit stopped
    before it ended) cannot, and raises :class:`JobStateError`.

    A job cancelled while it ran stays cancelled but keeps the result it stopped with (marked
    incomplete).
    ``keep_curves=False`` leaves the measured/simulated curves out of the stored result
    (they are in the job's result file). Raises :class:`JobStateError` for a job that
    is not running or cancelled.
    """
    return finish_with(
        session,
        job,
        result_to_store(result, keep_curves=keep_curves),
        fom=result.fom,
        stop_reason=str(result.stop_reason),
    )


def finish_with(
    session: Session, job: Job | int, result: dict[str, Any], *, fom: float | None, stop_reason: str
) -> Job:
    """:func:`finish` with a result that is not one fit's (e.g. a tune's): stored as given.

    ``fom`` (None or not finite: none) is what job lists sort and show.
    """
    loaded = _get(session, job, lock=True)
    if loaded.state not in (JobState.RUNNING, JobState.CANCELLED):
        raise JobStateError(f"job {loaded.id} is {loaded.state.value}; only a running job can finish")
    if loaded.state == JobState.RUNNING and result.get("complete") is False:
        raise JobStateError(
            f"job {loaded.id}: a fit stopped before it ended cannot make the job succeed; queue it again"
        )
    loaded.result = result
    loaded.fom = fom if fom is not None and math.isfinite(fom) else None
    loaded.stop_reason = stop_reason
    loaded.finished_at = loaded.finished_at or utcnow()
    if loaded.state == JobState.RUNNING:
        _move(session, loaded, JobState.SUCCEEDED)
    session.flush()
    return loaded


def fail(session: Session, job: Job | int, reason: str, *, retryable: bool) -> Job:
    """A run of ``job`` went wrong, for ``reason``.

    ``retryable`` (its process died, a worker was lost): queued again while the job has
    attempts left, else failed. Not retryable (the model's script raised, bad data):
    failed at once. A failed job's queued dependents are cancelled. A job already
    cancelled stays so.
    """
    loaded = _get(session, job, lock=True)
    if loaded.state == JobState.CANCELLED:
        return loaded
    if loaded.state != JobState.RUNNING:
        raise JobStateError(f"job {loaded.id} is {loaded.state.value}; only a running job can fail")
    if retryable and loaded.attempts < loaded.max_attempts:
        loaded.last_error = reason
        loaded.started_at, loaded.worker = None, None
        _move(session, loaded, JobState.QUEUED, reason=reason)
    else:
        if retryable:
            reason = f"{reason} (gave up after {loaded.attempts} attempts)"
        loaded.last_error = reason
        loaded.finished_at = utcnow()
        _move(session, loaded, JobState.FAILED, reason=reason)
        _cancel_dependents(session, loaded)
    session.flush()
    return loaded


def cancel(session: Session, job: Job | int, reason: str = CANCELLED_ON_REQUEST) -> bool:
    """Cancel a queued or running job (and its queued dependents); True if it was.

    A running job's process must be stopped by the caller; its late result is still
    stored by :func:`finish`. Finished jobs are left as they are.
    """
    loaded = _get(session, job, lock=True)
    if loaded.state.finished:
        return False
    loaded.last_error = reason
    loaded.finished_at = utcnow()
    _move(session, loaded, JobState.CANCELLED, reason=reason)
    _cancel_dependents(session, loaded)
    session.flush()
    return True


def retry(session: Session, job: Job | int) -> Job:
    """Queue a failed or cancelled job again with a fresh crash budget (``attempts = 0``)."""
    loaded = _get(session, job, lock=True)
    if loaded.state not in (JobState.FAILED, JobState.CANCELLED):
        raise JobStateError(
            f"job {loaded.id} is {loaded.state.value}; only failed or cancelled jobs are retried"
        )
    loaded.attempts = 0
    loaded.started_at, loaded.finished_at, loaded.worker = None, None, None
    _move(session, loaded, JobState.QUEUED, reason="retry requested")
    session.flush()
    return loaded


def requeue_running(session: Session, *, worker: str | None = None) -> list[Job]:
    """After a controller restart: every running job (of ``worker`` when given) is queued again.

    The interrupted run is not charged (``attempts -= 1``) but counted in
    ``interruptions``; its events keep their run number, the rerun gets the next one.
    """
    query = select(Job).where(Job.state == JobState.RUNNING).order_by(Job.id)
    if worker is not None:
        query = query.where(Job.worker == worker)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update()
    jobs = list(session.execute(query).scalars())
    for job in jobs:
        job.attempts = max(job.attempts - 1, 0)
        job.interruptions += 1
        job.started_at, job.worker = None, None
        _move(session, job, JobState.QUEUED, reason="interrupted: the controller stopped while it ran")
    session.flush()
    return jobs


def release(session: Session, job: Job | int, reason: str) -> Job:
    """Give back a claimed job that never started (its executor dropped it): queued, attempt refunded."""
    loaded = _get(session, job, lock=True)
    if loaded.state != JobState.RUNNING:
        return loaded
    loaded.attempts = max(loaded.attempts - 1, 0)
    loaded.started_at, loaded.worker = None, None
    _move(session, loaded, JobState.QUEUED, reason=reason)
    session.flush()
    return loaded


def result_to_store(result: FitResult, *, keep_curves: bool = False) -> dict[str, Any]:
    """``result.to_dict()``, with the data curves emptied unless ``keep_curves``."""
    stored = result.to_dict()
    if not keep_curves:
        for curve in stored["datasets"]:
            curve.update(x=[], y=[], error=[], simulated=[])
    return stored


def _row(
    study: Study, owner: str, key: str, new: NewJob, known: Mapping[str, Job], now: datetime
) -> dict[str, Any]:
    dependency = known.get(new.depends_on) if new.depends_on else None
    spec = new.spec
    return {
        "study_id": study.id,
        "project_id": study.project_id,
        "owner": owner,
        "key": key,
        "kind": spec.kind,
        "label": spec.label,
        "axes": dict(spec.axes),
        "data": [data_options(d) for d in spec.data],
        "model_path": spec.model_path,
        "model_sha256": new.model_sha256,
        "data_paths": [d.path for d in spec.data],
        "data_sha256": list(new.data_sha256),
        "overrides": [dataclasses.asdict(o) for o in spec.overrides],
        "settings": dict(spec.settings),
        "seed": spec.seed,
        "state": JobState.QUEUED,
        "attempts": 0,
        "max_attempts": new.max_attempts,
        "interruptions": 0,
        "runs": 0,
        "queued_at": now,
        "sequence": spec.sequence,
        "depends_on_job_id": dependency.id if dependency is not None else None,
        "output": spec.output,
    }


def job_spec(job: Job) -> JobSpec:
    """The spec of a stored ``job`` (what it fits), as it was submitted (``depends_on`` aside)."""
    options = job.data or [{} for _ in job.data_paths]
    return JobSpec(
        label=job.label,
        model_path=job.model_path,
        settings=dict(job.settings),
        kind=job.kind,
        data=[DataAssignment(path=p, **option) for p, option in zip(job.data_paths, options, strict=True)],
        overrides=[ParameterOverride(**o) for o in job.overrides or []],
        sequence=job.sequence,
        axes=dict(job.axes or {}),
        output=job.output,
    )


def _jobs_by_key(session: Session, study_id: int, keys: Sequence[str]) -> dict[str, Job]:
    found: dict[str, Job] = {}
    for start in range(0, len(keys), _CHUNK):
        query = select(Job).where(Job.study_id == study_id, Job.key.in_(keys[start : start + _CHUNK]))
        found.update((job.key, job) for job in session.execute(query).scalars())
    return found


def _get(session: Session, job: Job | int, *, lock: bool = False) -> Job:
    job_id = job.id if isinstance(job, Job) else job
    loaded = session.get(Job, job_id, with_for_update=lock, populate_existing=True)
    if loaded is None:
        raise StoreError(f"there is no job {job_id} in the job store")
    return loaded


def _move(session: Session, job: Job, state: JobState, *, reason: str | None = None) -> None:
    previous = job.state
    job.state = state
    _state_event(session, job, previous, reason=reason)


def _state_event(session: Session, job: Job, previous: JobState, **details: str | None) -> None:
    data = {"from": previous.value, "to": job.state.value} | {k: v for k, v in details.items() if v}
    session.add(Event(job_id=job.id, run=job.runs, kind=EventKind.STATE, data=data))


def _cancel_dependents(session: Session, job: Job) -> None:
    """Cancel the queued jobs waiting (directly or through others) for ``job``, which will never succeed."""
    frontier = [job.id]
    while frontier:
        query = select(Job).where(Job.depends_on_job_id.in_(frontier), Job.state == JobState.QUEUED)
        waiting = list(session.execute(query).scalars())
        for dependent in waiting:
            dependent.last_error = f"job {job.id}, whose result it starts from, did not succeed"
            dependent.finished_at = utcnow()
            _move(session, dependent, JobState.CANCELLED, reason=dependent.last_error)
        frontier = [dependent.id for dependent in waiting]
