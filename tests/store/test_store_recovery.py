"""Resume without duplicates: controller crashes (in-process and a real kill -9) and concurrent claimers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

from metagenx.engine.result import FitResult
from metagenx.store import (
    EventKind,
    Job,
    JobState,
    NewJob,
    Store,
    Study,
    add_jobs,
    claim_next,
    counts_by_state,
    events_after,
    fail,
    finish,
    open_store,
    record_progress,
    requeue_running,
)

MakeSpec = Callable[..., NewJob]

CONTROLLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from metagenx.store import claim_next, open_store, record_progress

    store = open_store(sys.argv[1], Path(sys.argv[2]))
    with store.session() as session:
        job = claim_next(session, None, "doomed")
        record_progress(session, job, generation=5, best_fom=0.5, evaluations=100)
        if sys.argv[3] == "before-commit":
            os.kill(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def kill_controller(db_url: str, data_dir: Path, when: str) -> None:
    """Run a controller that claims a job and is killed with SIGKILL (``when``: before or after commit)."""
    process = subprocess.run(
        [sys.executable, "-c", CONTROLLER, db_url, str(data_dir), when],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "METAGENX_DB": ""},
    )
    assert process.returncode == -signal.SIGKILL, process.stderr


def claim(store: Store, worker: str = "w1") -> Job | None:
    with store.session() as session:
        return claim_next(session, None, worker)


def test_requeue_after_a_controller_crash_does_not_charge_the_job(
    store: Store, study: Study, make_spec: MakeSpec, fit_result: FitResult
) -> None:
    with store.session() as session:
        add_jobs(session, study, [make_spec(i) for i in range(3)])
    done, lost = claim(store), claim(store)
    assert done is not None and lost is not None
    with store.session() as session:
        finish(session, done, fit_result)
    # the controller dies here; a new one starts and recovers
    with store.session() as session:
        requeued = requeue_running(session)
        assert [j.id for j in requeued] == [lost.id]
        counts = counts_by_state(session, study.id)
    assert (counts[JobState.SUCCEEDED], counts[JobState.QUEUED], counts[JobState.RUNNING]) == (1, 2, 0)
    again = claim(store)
    assert again is not None and again.id == lost.id
    assert (again.attempts, again.interruptions, again.runs) == (1, 1, 2)
    # the interrupted run did not use up the crash budget: one real crash is still retried
    with store.session() as session:
        assert fail(session, again, "process died", retryable=True).state == JobState.QUEUED
    last = claim(store)
    assert last is not None and last.id == lost.id and last.attempts == 2
    with store.session() as session:
        assert fail(session, last, "process died", retryable=True).state == JobState.FAILED
        states = [
            e.data["to"] for e in events_after(session, lost.id) if e.kind == EventKind.STATE and e.data
        ]
    assert states == ["running", "queued", "running", "queued", "running", "failed"]


def test_kill_9_of_the_controller_then_resume(
    db_url: str, store: Store, study: Study, make_spec: MakeSpec, tmp_path: Path
) -> None:
    with store.session() as session:
        jobs = add_jobs(session, study, [make_spec(i) for i in range(3)])
    data_dir = tmp_path

    kill_controller(db_url, data_dir, "before-commit")  # the claim never committed: nothing happened
    with store.session() as session:
        assert counts_by_state(session, study.id)[JobState.QUEUED] == 3
        assert events_after(session, jobs[0].id) == []

    kill_controller(db_url, data_dir, "after-commit")  # job 0 was running when the controller died
    with store.session() as session:
        assert counts_by_state(session, study.id)[JobState.RUNNING] == 1
    resumed = open_store(db_url, data_dir)  # the same command, run again
    try:
        with resumed.session() as session:
            assert [j.id for j in requeue_running(session)] == [jobs[0].id]
        with resumed.session() as session:
            job = claim_next(session, study.id, "fresh")
            assert job is not None and job.id == jobs[0].id
            assert (job.attempts, job.interruptions, job.runs) == (1, 1, 2)
            record_progress(session, job, generation=1, best_fom=0.9, evaluations=20)
            progress = [(e.run, e.generation) for e in events_after(session, job.id) if e.kind == "progress"]
        assert progress == [(1, 5), (2, 1)]  # the lost run's report is kept apart from the rerun's
    finally:
        resumed.close()


def test_concurrent_claimers_never_get_the_same_job(store: Store, study: Study, make_spec: MakeSpec) -> None:
    with store.session() as session:
        add_jobs(session, study, [make_spec(i) for i in range(24)])
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(3)

    def work(worker: str) -> None:
        mine = claimed.setdefault(worker, [])
        barrier.wait()
        while (job := claim(store, worker)) is not None:
            mine.append(job.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    ids = [job_id for ids in claimed.values() for job_id in ids]
    assert len(ids) == len(set(ids)) == 24


def test_claim_skips_a_job_locked_by_another_session_on_postgresql(
    pg_url: str, tmp_path: Path, make_spec: MakeSpec
) -> None:
    from metagenx.store import StudyKind, ensure_project, ensure_study

    store = open_store(pg_url, tmp_path)
    try:
        with store.session() as session:
            study = ensure_study(session, ensure_project(session, "p"), "s", StudyKind.BATCH)
            add_jobs(session, study, [make_spec(i) for i in range(3)])
        with store.sessions() as first, store.sessions() as second:
            a = claim_next(first, study.id, "a")  # holds the row lock until commit
            b = claim_next(second, study.id, "b")
            assert a is not None and b is not None and a.id != b.id
            first.rollback()  # a's controller gives up before committing: the job is free again
            c = claim_next(first, study.id, "c")
            assert c is not None and c.id == a.id
            first.commit()
            second.commit()
    finally:
        store.close()


def test_concurrent_submissions_of_the_same_study_make_one_set_of_jobs(
    store: Store, study: Study, make_spec: MakeSpec
) -> None:
    specs = [make_spec(i) for i in range(20)]
    results: list[list[int]] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        barrier.wait()
        with store.session() as session:
            results.append([job.id for job in add_jobs(session, study, specs)])

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 2 and results[0] == results[1]
    with store.session() as session:
        assert sum(counts_by_state(session, study.id).values()) == 20
