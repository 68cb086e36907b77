"""Job life cycle against SQLite and PostgreSQL: submit, claim, progress, finish, fail, cancel."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from metagenx.engine.result import FitResult, StopReason
from metagenx.store import (
    EventKind,
    Job,
    JobFilter,
    JobState,
    JobStateError,
    NewJob,
    Store,
    StoreError,
    Study,
    StudyKind,
    add_artifact,
    add_jobs,
    cancel,
    claim_next,
    count_jobs,
    counts_by_state,
    ensure_project,
    ensure_study,
    events_after,
    fail,
    find_succeeded,
    finish,
    job_key,
    list_jobs,
    record_event,
    record_progress,
    retry,
)
from metagenx.store.models import Artifact

MakeSpec = Callable[..., NewJob]


def submit(store: Store, study: Study, specs: list[NewJob]) -> list[Job]:
    with store.session() as session:
        return add_jobs(session, study, specs)


def claim(store: Store, study: Study | None = None, worker: str = "w1") -> Job | None:
    with store.session() as session:
        return claim_next(session, study.id if study else None, worker)


def load(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    return job


def test_job_key_is_stable_and_content_based() -> None:
    settings = {"km": 0.7, "population": 20, "max_time": 60.0}
    key = job_key("m" * 64, ["d" * 64], settings, seed=1, overrides={"a": 1.5, "b": 2})
    assert key == job_key("m" * 64, ("d" * 64,), dict(reversed(settings.items())), 1, {"b": 2.0, "a": 1.5})
    assert len(key) == 64 and int(key, 16) >= 0
    assert key != job_key("m" * 64, ["d" * 64], settings, seed=2, overrides={"a": 1.5, "b": 2})
    assert key != job_key("m" * 64, ["e" * 64], settings, seed=1, overrides={"a": 1.5, "b": 2})
    assert key != job_key(
        "m" * 64, ["d" * 64], settings, seed=1, overrides={"a": 1.5, "b": 2}, depends_on=key
    )
    assert job_key("m", [], {"max_time": math.inf}, 0) != job_key("m", [], {"max_time": None}, 0)
    # a fixed input, a fixed key: changing the recipe silently would orphan every stored result
    golden = "179224d66bf09b646fb859400f4ac4c54cf6cc52154ae8ba523de25ba96c59eb"
    assert job_key("a" * 64, ["b" * 64], {"km": 0.7, "population": 20}, 1, {"p": 1}) == golden


def test_add_jobs_is_idempotent(store: Store, study: Study, make_spec: MakeSpec) -> None:
    specs = [make_spec(i) for i in range(5)]
    first = submit(store, study, specs)
    second = submit(store, study, [*specs[2:], make_spec(5), *specs[:2]])
    assert [job.id for job in first] == sorted(job.id for job in first)
    assert {job.id for job in second} == {job.id for job in first} | {second[3].id}
    assert [j.id for j in second[:3]] == [j.id for j in first[2:]]
    with store.session() as session:
        assert count_jobs(session, JobFilter(study_id=study.id)) == 6
        assert counts_by_state(session, study.id)[JobState.QUEUED] == 6
    job = first[0]
    assert (job.state, job.attempts, job.owner, job.seed) == (JobState.QUEUED, 0, "local", 0)
    assert job.key == specs[0].key and job.data_paths == ["/data/film0.dat"]


def test_same_spec_twice_in_one_submission_is_one_job(
    store: Store, study: Study, make_spec: MakeSpec
) -> None:
    jobs = submit(store, study, [make_spec(1), make_spec(1, model_path="/elsewhere/same-bytes.hgx")])
    assert jobs[0].id == jobs[1].id
    with store.session() as session:
        assert count_jobs(session) == 1


def test_same_study_submitted_again_reuses_finished_results(
    store: Store, study: Study, make_spec: MakeSpec, fit_result: FitResult
) -> None:
    specs = [make_spec(i) for i in range(3)]
    submit(store, study, specs)
    job = claim(store)
    assert job is not None
    with store.session() as session:
        finish(session, job, fit_result)
        again = ensure_study(session, ensure_project(session, "beamtime"), "sweep", StudyKind.STUDY)
        assert again.id == study.id
        jobs = add_jobs(session, again, specs)
        assert [j.state for j in jobs] == [JobState.SUCCEEDED, JobState.QUEUED, JobState.QUEUED]
        assert find_succeeded(session, specs[0].key, project_id=study.project_id) is not None
        with pytest.raises(StoreError, match="already has a study named 'sweep'"):
            ensure_study(session, ensure_project(session, "beamtime"), "sweep", StudyKind.BATCH)


def test_claim_order_and_dependency_gating(
    store: Store, study: Study, make_spec: MakeSpec, fit_result: FitResult
) -> None:
    first = make_spec(0, sequence=0)
    second = make_spec(1, sequence=1, depends_on=first.key)
    third = make_spec(2, sequence=2, depends_on=second.key)
    free = make_spec(3)
    jobs = submit(store, study, [first, second, third, free])
    assert jobs[1].depends_on_job_id == jobs[0].id and jobs[2].depends_on_job_id == jobs[1].id
    claimed = [claim(store, study), claim(store, study)]
    assert [j.id if j else None for j in claimed] == [jobs[0].id, jobs[3].id]
    assert claim(store, study) is None  # the rest waits for job 0
    with store.session() as session:
        finish(session, jobs[0].id, fit_result)
    nxt = claim(store, study, worker="w2")
    assert nxt is not None and nxt.id == jobs[1].id
    assert (nxt.state, nxt.attempts, nxt.runs, nxt.worker) == (JobState.RUNNING, 1, 1, "w2")
    assert nxt.started_at is not None and nxt.started_at.tzinfo is not None


def test_dependency_must_be_in_the_study(store: Store, study: Study, make_spec: MakeSpec) -> None:
    with pytest.raises(StoreError, match="depend on a job that is not in study 'sweep'"):
        submit(store, study, [make_spec(1, depends_on="0" * 64)])
    first = submit(store, study, [make_spec(0)])[0]
    later = submit(store, study, [make_spec(1, depends_on=first.key)])[0]
    assert later.depends_on_job_id == first.id


def test_a_crash_is_retried_once_then_the_job_fails_with_the_reason(
    store: Store, study: Study, make_spec: MakeSpec
) -> None:
    submit(store, study, [make_spec(0)])
    states = []
    for attempt in (1, 2):
        running = claim(store)
        assert running is not None and running.attempts == attempt
        with store.session() as session:
            job = fail(session, running, "the fit process died (signal 9)", retryable=True)
            states.append(job.state)
    assert states == [JobState.QUEUED, JobState.FAILED]
    assert job.last_error == "the fit process died (signal 9) (gave up after 2 attempts)"
    assert job.finished_at is not None
    assert claim(store) is None


def test_a_non_retryable_error_fails_at_once_and_cancels_dependents(
    store: Store, study: Study, make_spec: MakeSpec, fit_result: FitResult
) -> None:
    first = make_spec(0)
    second = make_spec(1, depends_on=first.key)
    third = make_spec(2, depends_on=second.key)
    jobs = submit(store, study, [first, second, third])
    claimed = claim(store)
    assert claimed is not None
    with store.session() as session:
        failed = fail(session, claimed, "line 12 of the model script: NameError", retryable=False)
        assert (failed.state, failed.attempts) == (JobState.FAILED, 1)
        states = [load(session, j.id).state for j in jobs]
        assert states == [JobState.FAILED, JobState.CANCELLED, JobState.CANCELLED]
        assert "did not succeed" in (load(session, jobs[2].id).last_error or "")
        with pytest.raises(JobStateError):
            finish(session, failed, fit_result)
        retried = retry(session, failed)
        assert (retried.state, retried.attempts, retried.runs) == (JobState.QUEUED, 0, 1)


def test_cancel(store: Store, study: Study, make_spec: MakeSpec, fit_result: FitResult) -> None:
    jobs = submit(store, study, [make_spec(0), make_spec(1)])
    running = claim(store)
    assert running is not None
    with store.session() as session:
        assert cancel(session, jobs[1].id)
        assert cancel(session, running, "user pressed stop")
        assert not cancel(session, running)  # already cancelled
        late = finish(session, running, fit_result)  # the stopped fit reports back late
        assert late.state == JobState.CANCELLED and late.result is not None
        assert fail(session, running, "killed", retryable=True).state == JobState.CANCELLED
        assert counts_by_state(session, study.id)[JobState.CANCELLED] == 2
    assert claim(store) is None


def test_only_running_jobs_finish(
    store: Store, study: Study, make_spec: MakeSpec, fit_result: FitResult
) -> None:
    job = submit(store, study, [make_spec(0)])[0]
    with store.session() as session, pytest.raises(JobStateError, match="is queued"):
        finish(session, job, fit_result)
    with store.session() as session, pytest.raises(StoreError, match="no job 999"):
        fail(session, 999, "x", retryable=False)


def test_result_json_round_trip(
    store: Store, study: Study, make_spec: MakeSpec, fit_result: FitResult
) -> None:
    submit(store, study, [make_spec(0), make_spec(1)])
    original = fit_result
    for keep_curves in (False, True):
        job = claim(store)
        assert job is not None
        with store.session() as session:
            finish(session, job, original, keep_curves=keep_curves)
        with store.session() as session:
            stored = load(session, job.id)
            assert stored.state == JobState.SUCCEEDED
            assert stored.fom == pytest.approx(0.0976)
            assert stored.stop_reason == "converged: best FOM stalled"
            assert stored.finished_at is not None and stored.started_at is not None
            assert stored.result is not None
            back = FitResult.from_dict(stored.result)
        assert back.fom_history == [1.5, None, 0.2, 0.0976]  # strict JSON: inf → null
        assert back.settings == original.settings and back.parameters == original.parameters
        assert back.stop_reason is StopReason.CONVERGED_FOM
        assert back.datasets[0].y == ([1.0, 0.5] if keep_curves else [])


def test_progress_events_are_numbered_by_run(store: Store, study: Study, make_spec: MakeSpec) -> None:
    submit(store, study, [make_spec(0)])
    job = claim(store)
    assert job is not None
    with store.session() as session:
        for generation in range(3):
            record_progress(
                session, job, generation=generation, best_fom=1.0 / (generation + 1), evaluations=20
            )
        record_progress(session, job.id, generation=3, best_fom=0.2, evaluations=80, data={"spread": 0.1})
        events = events_after(session, job.id)
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.STATE] + [EventKind.PROGRESS] * 4
    assert events[0].data == {"from": "queued", "to": "running", "worker": "w1"}
    assert [e.generation for e in events[1:]] == [0, 1, 2, 3]
    assert {e.run for e in events} == {1}
    assert events[-1].data == {"spread": 0.1} and events[-1].best_fom == pytest.approx(0.2)
    with store.session() as session:
        assert [e.id for e in events_after(session, job.id, after_id=events[-2].id)] == [events[-1].id]
        log = record_event(session, job.id, EventKind.LOG, best_fom=math.nan, data={"message": "hello Å"})
        assert (log.run, log.best_fom, log.data) == (1, None, {"message": "hello Å"})
        with pytest.raises(StoreError, match="no job 999"):
            record_event(session, 999, EventKind.LOG)


def test_list_jobs_filters_and_pages(store: Store, study: Study, make_spec: MakeSpec) -> None:
    jobs = submit(store, study, [make_spec(i) for i in range(7)])
    claim(store)
    with store.session() as session:
        page = list_jobs(session, JobFilter(study_id=study.id), offset=2, limit=3)
        assert [j.id for j in page] == [j.id for j in jobs[2:5]]
        running = list_jobs(session, JobFilter(states=[JobState.RUNNING]))
        assert [j.id for j in running] == [jobs[0].id]
        assert count_jobs(session, JobFilter(owner="someone-else")) == 0
        assert list_jobs(session, JobFilter(key=jobs[3].key))[0].id == jobs[3].id
        counts = counts_by_state(session)
    assert counts == {
        JobState.QUEUED: 6,
        JobState.RUNNING: 1,
        JobState.SUCCEEDED: 0,
        JobState.FAILED: 0,
        JobState.CANCELLED: 0,
    }


def test_artifacts_recorded_again_are_replaced(store: Store, study: Study, make_spec: MakeSpec) -> None:
    job = submit(store, study, [make_spec(0)])[0]
    with store.session() as session:
        add_artifact(session, kind="model", path="fit/film_fitted.hgx", size=10, job_id=job.id)
        add_artifact(
            session, kind="model", path="fit/film_fitted.hgx", size=12, sha256="a" * 64, job_id=job.id
        )
        add_artifact(session, kind="csv", path="study.csv", size=99, study_id=study.id)
        with pytest.raises(StoreError):
            add_artifact(session, kind="png", path="x.png", size=1)
    with store.session() as session:
        rows = list(session.execute(select(Artifact).order_by(Artifact.id)).scalars())
    assert [(a.kind, a.size, a.job_id, a.study_id) for a in rows] == [
        ("model", 12, job.id, None),
        ("csv", 99, None, study.id),
    ]
