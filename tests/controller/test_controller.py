"""The controller on a real database with real fits: runner processes (the local executor) where
processes matter (warm runners, killed workers, cancels), threads of this process (the
in-process executor) where only the scheduling logic is tested."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from metagenx.controller import Controller
from metagenx.engine.model import GenxModel
from metagenx.executors import LocalExecutor
from metagenx.executors.inprocess import InProcessExecutor
from metagenx.jobs import JobSpec
from metagenx.store import Job, JobFilter, JobState, Store, StudyKind, list_jobs, open_store
from metagenx.study.submit import submit_study
from tests.conftest import EditModel


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(db_url, tmp_path)
    yield opened
    opened.close()


def seeds_study(model: Path, seeds: range, generations: int = 3) -> list[JobSpec]:
    return [
        JobSpec(
            label=f"seed={s}",
            model_path=str(model),
            settings={"seed": s, "max_generations": generations},
            axes={"seed": s},
        )
        for s in seeds
    ]


def jobs_of(store: Store, study: int) -> list[Job]:
    with store.session() as session:
        return list_jobs(session, JobFilter(study_id=study), limit=1000)


@pytest.mark.both_stores
def test_two_workers_run_a_study_with_warm_runners(store: Store, superadam: Path, tmp_path: Path) -> None:
    study = submit_study(
        store,
        project="p",
        name="seeds",
        kind=StudyKind.STUDY,
        specs=seeds_study(superadam, range(1, 6)),
        directory=tmp_path,
    )
    pids: set[int] = set()
    controller = Controller(store, LocalExecutor(workers=2))
    controller.listeners.append(lambda e: pids.add(e.pid) if e.type == "started" else None)
    summary = controller.run(study)
    controller.close()
    assert summary.counts["succeeded"] == 5 and not summary.interrupted
    assert len(pids) == 2, "two warm runners ran all five fits"
    jobs = jobs_of(store, study)
    assert all(j.runs == 1 and j.fom is not None for j in jobs)
    for job in jobs:
        assert (Path(job.result["model_path"])).name == "SuperAdam_SiO.hgx"  # type: ignore[index]
        outputs = list((tmp_path / "jobs").glob(f"{job.id:03d}-*/SuperAdam_SiO.hgx"))
        assert len(outputs) == 1 and GenxModel.load(outputs[0]).simulate() == job.fom


def test_same_seed_same_result_as_a_direct_fit(store: Store, superadam: Path, tmp_path: Path) -> None:
    import metagenx

    study = submit_study(
        store,
        project="p",
        name="one",
        kind=StudyKind.STUDY,
        specs=seeds_study(superadam, range(4, 5)),
        directory=tmp_path,
    )
    controller = Controller(store, InProcessExecutor())
    controller.run(study)
    controller.close()
    direct = metagenx.fit(superadam, seed=4, max_generations=3)
    assert jobs_of(store, study)[0].fom == direct.fom


def test_a_killed_worker_is_replaced_and_its_job_retried(
    store: Store, superadam: Path, tmp_path: Path
) -> None:
    specs = seeds_study(superadam, range(1, 5))
    specs[1] = JobSpec(label="long", model_path=str(superadam), settings={"seed": 2, "max_generations": 40})
    study = submit_study(
        store, project="p", name="kill", kind=StudyKind.STUDY, specs=specs, directory=tmp_path
    )
    controller = Controller(store, LocalExecutor(workers=2))
    killed: list[int] = []

    def kill_long_job_once(event: dict[str, object]) -> None:
        if event.type == "progress" and not killed:
            job = next(j for j in jobs_of(store, study) if j.label == "long")
            if event.job_id == job.id and event.generation >= 2:
                killed.append(job.id)
                os.kill(int(str(pid_of[job.id])), signal.SIGKILL)

    pid_of: dict[object, object] = {}
    controller.listeners.append(lambda e: pid_of.update({e.job_id: e.pid}) if e.type == "started" else None)
    controller.listeners.append(kill_long_job_once)
    summary = controller.run(study)
    controller.close()
    assert killed, "the long job was killed mid-fit"
    assert summary.counts["succeeded"] == 4
    long = next(j for j in jobs_of(store, study) if j.id == killed[0])
    assert long.runs == 2 and long.attempts == 2 and "SIGKILL" in (long.last_error or "")
    assert long.state is JobState.SUCCEEDED and long.fom is not None


def test_a_job_that_kills_its_worker_twice_fails_with_the_reason(
    store: Store, superadam: Path, tmp_path: Path, edited_model: EditModel
) -> None:
    def edit(model: GenxModel) -> None:
        model.model.set_script(
            model.script.replace(
                "def Sim(data):", "def Sim(data):\n    import os, signal; os.kill(os.getpid(), 9)"
            )
        )

    crashing = edited_model(superadam, edit, "crashes.hgx")
    specs = [
        *seeds_study(superadam, range(1, 3)),
        JobSpec(label="crash", model_path=str(crashing), settings={"seed": 1}),
    ]
    study = submit_study(
        store, project="p", name="crash", kind=StudyKind.STUDY, specs=specs, directory=tmp_path
    )
    controller = Controller(store, LocalExecutor(workers=2))
    summary = controller.run(study)
    controller.close()
    assert summary.counts["succeeded"] == 2 and summary.counts["failed"] == 1
    crashed = next(j for j in jobs_of(store, study) if j.label == "crash")
    assert crashed.runs == 2
    assert "SIGKILL" in (crashed.last_error or "") and "gave up after 2 attempts" in (
        crashed.last_error or ""
    )


def test_a_model_error_fails_only_that_job(
    store: Store, superadam: Path, tmp_path: Path, edited_model: EditModel
) -> None:
    broken = edited_model(
        superadam,
        lambda m: m.model.set_script(m.script.replace("def Sim(data):", "def Sim(data):\n    1/0")),
        "b.hgx",
    )
    specs = [
        *seeds_study(superadam, range(1, 3)),
        JobSpec(label="broken", model_path=str(broken), settings={"seed": 1}),
    ]
    study = submit_study(
        store, project="p", name="err", kind=StudyKind.STUDY, specs=specs, directory=tmp_path
    )
    controller = Controller(store, InProcessExecutor())
    summary = controller.run(study)
    controller.close()
    assert summary.counts["succeeded"] == 2 and summary.counts["failed"] == 1
    failed = next(j for j in jobs_of(store, study) if j.state is JobState.FAILED)
    assert failed.runs == 1, "a script error is not retried"
    assert "ZeroDivisionError" in (failed.last_error or "") and "script line" in (failed.last_error or "")


@pytest.mark.both_stores
def test_stop_requeues_running_jobs_and_a_rerun_completes_without_duplicates(
    store: Store, superadam: Path, tmp_path: Path
) -> None:
    specs = seeds_study(superadam, range(1, 5), generations=8)
    study = submit_study(
        store, project="p", name="stop", kind=StudyKind.STUDY, specs=specs, directory=tmp_path
    )
    stop = threading.Event()
    finished: list[object] = []

    def stop_after_two(event: dict[str, object]) -> None:
        if event.type == "result":
            finished.append(event.job_id)
            if len(finished) == 2:
                stop.set()

    controller = Controller(store, LocalExecutor(workers=2))
    controller.listeners.append(stop_after_two)
    first = controller.run(study, stop=stop)
    assert first.interrupted and first.counts["running"] == 0
    done_first = {j.id: j.fom for j in jobs_of(store, study) if j.state is JobState.SUCCEEDED}
    assert len(done_first) >= 2
    again = submit_study(
        store, project="p", name="stop", kind=StudyKind.STUDY, specs=specs, directory=tmp_path
    )
    assert again == study
    second = Controller(store, LocalExecutor(workers=2))
    summary = second.run(study)
    second.close()
    assert summary.counts["succeeded"] == 4
    jobs = jobs_of(store, study)
    assert len(jobs) == 4
    for job in jobs:
        if job.id in done_first:
            assert job.runs == 1 and job.fom == done_first[job.id], "finished jobs are not rerun"
        assert job.attempts <= 1, "an interruption is not charged as an attempt"


def test_cancel_a_running_job_kills_its_runner_and_the_rest_complete(
    store: Store, superadam: Path, tmp_path: Path
) -> None:
    specs = seeds_study(superadam, range(1, 4))
    specs[0] = JobSpec(label="long", model_path=str(superadam), settings={"seed": 1, "tolerance": 0.0})
    study = submit_study(
        store, project="p", name="cancel", kind=StudyKind.STUDY, specs=specs, directory=tmp_path
    )
    controller = Controller(store, LocalExecutor(workers=2))
    long_id = next(j.id for j in jobs_of(store, study) if j.label == "long")

    def cancel_when_running(event: dict[str, object]) -> None:
        if event.type == "progress" and event.job_id == long_id:
            controller.request_cancel(long_id)

    controller.listeners.append(cancel_when_running)
    summary = controller.run(study)
    controller.close()
    assert summary.counts["cancelled"] == 1 and summary.counts["succeeded"] == 2
    long = next(j for j in jobs_of(store, study) if j.id == long_id)
    assert long.state is JobState.CANCELLED and long.last_error == "cancelled on request"
