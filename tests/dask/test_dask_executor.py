"""The dask executor on a real cluster (separate scheduler and worker processes): same results as
local, warm runners, lost workers, crashing models, stop and cancel."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from metagenx.controller import Controller
from metagenx.engine.model import GenxModel
from metagenx.executors import LocalExecutor
from metagenx.executors.dask import DaskExecutor
from metagenx.jobs import JobSpec
from metagenx.store import JobState, Store, open_store
from tests.conftest import EditModel
from tests.dask.conftest import (
    LONG,
    Recorder,
    by_label,
    gone,
    jobs_of,
    run_study,
    seeds_study,
    submit,
    worker_pids,
)


def test_a_study_on_dask_gives_the_local_results_with_warm_runners(
    scheduler: str, store: Store, superadam: Path, tmp_path: Path
) -> None:
    specs = seeds_study(superadam, range(1, 11))
    study = submit(store, specs, tmp_path / "dask")
    recorder = Recorder()
    summary = run_study(Controller(store, DaskExecutor(scheduler)), study, recorder)
    assert summary.counts["succeeded"] == 10 and not summary.interrupted
    assert len({e.pid for e in recorder.of("started")}) == 2, "one warm runner per worker ran all fits"
    assert {e.worker for e in recorder.of("started")} == set(worker_pids(scheduler))
    assert all(n == 1 for n in recorder.results_per_job().values()) and len(recorder.results_per_job()) == 10

    local_store = open_store(f"sqlite:///{tmp_path / 'local.db'}", tmp_path)
    local_study = submit(local_store, specs, tmp_path / "local")
    run_study(Controller(local_store, LocalExecutor(workers=2)), local_study)
    on_dask = {j.label: (j.fom, j.result["parameters"]) for j in jobs_of(store, study)}  # type: ignore[index]
    on_local = {j.label: (j.fom, j.result["parameters"]) for j in jobs_of(local_store, local_study)}  # type: ignore[index]
    local_store.close()
    assert on_dask == on_local, "same seeds, same numbers"
    job = jobs_of(store, study)[0]
    output = next((tmp_path / "dask" / "jobs").glob(f"{job.id:03d}-*/SuperAdam_SiO.hgx"))
    assert GenxModel.load(output).simulate() == job.fom


def test_a_worker_killed_mid_fit_is_survived_and_every_job_has_one_result(
    scheduler: str, store: Store, superadam: Path, tmp_path: Path
) -> None:
    specs = seeds_study(superadam, range(1, 5))
    specs.append(JobSpec(label="long", model_path=str(superadam), settings={"seed": 7, **LONG}))
    study = submit(store, specs, tmp_path)
    long_id = by_label(store, study, "long").id
    killed: dict[str, Any] = {}

    def kill_the_worker_of_the_long_job(event: dict[str, Any]) -> None:
        if event.type == "progress" and event.job_id == long_id and not killed:
            started = next(e for e in recorder.of("started", long_id))
            killed.update(worker=started.worker, runner=started.pid)
            os.kill(worker_pids(scheduler)[started.worker], signal.SIGKILL)

    recorder = Recorder()
    controller = Controller(store, DaskExecutor(scheduler))
    controller.listeners.append(recorder)
    controller.listeners.append(kill_the_worker_of_the_long_job)
    summary = run_study(controller, study)
    assert killed, "the worker running the long job was killed mid-fit"
    assert summary.counts["succeeded"] == 5
    assert recorder.results_per_job() == {j.id: 1 for j in jobs_of(store, study)}, (
        "exactly one result per job"
    )
    long = by_label(store, study, "long")
    assert long.state is JobState.SUCCEEDED and long.runs == 2 and long.attempts == 2
    assert killed["worker"] in (long.last_error or "") and "died" in (long.last_error or "")
    deadline = time.monotonic() + 5
    while not gone(killed["runner"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gone(killed["runner"]), "the orphaned runner of the dead worker exited by itself"


def crashing(edited_model: EditModel, superadam: Path, kill: str, name: str) -> Path:
    def edit(model: GenxModel) -> None:
        model.model.set_script(
            model.script.replace("def Sim(data):", f"def Sim(data):\n    import os, signal; {kill}")
        )

    return edited_model(superadam, edit, name)


def test_a_model_that_kills_its_runner_fails_after_two_attempts(
    scheduler: str, store: Store, superadam: Path, tmp_path: Path, edited_model: EditModel
) -> None:
    model = crashing(edited_model, superadam, "os.kill(os.getpid(), 9)", "kills_runner.hgx")
    specs = [*seeds_study(superadam, range(1, 3)), JobSpec("crash", str(model), {"seed": 1})]
    study = submit(store, specs, tmp_path)
    summary = run_study(Controller(store, DaskExecutor(scheduler)), study)
    assert summary.counts["succeeded"] == 2 and summary.counts["failed"] == 1
    crashed = by_label(store, study, "crash")
    assert crashed.runs == 2
    assert "SIGKILL" in (crashed.last_error or "") and "gave up after 2 attempts" in (
        crashed.last_error or ""
    )


def test_a_model_that_kills_its_dask_worker_fails_after_two_attempts(
    scheduler: str, store: Store, superadam: Path, tmp_path: Path, edited_model: EditModel
) -> None:
    model = crashing(edited_model, superadam, "os.kill(os.getppid(), 9)", "kills_worker.hgx")
    specs = [*seeds_study(superadam, range(1, 3)), JobSpec("crash", str(model), {"seed": 1})]
    study = submit(store, specs, tmp_path)
    summary = run_study(Controller(store, DaskExecutor(scheduler)), study)
    assert summary.counts["succeeded"] == 2 and summary.counts["failed"] == 1
    crashed = by_label(store, study, "crash")
    assert crashed.runs == 2 and crashed.state is JobState.FAILED
    reason = crashed.last_error or ""
    assert "Dask worker" in reason and "died" in reason and "gave up after 2 attempts" in reason


def test_stop_and_cancel_reach_the_runner_on_its_worker(
    scheduler: str, store: Store, superadam: Path, tmp_path: Path
) -> None:
    specs = [
        *seeds_study(superadam, range(1, 3)),
        JobSpec("stopped", str(superadam), {"seed": 3, **LONG}),
        JobSpec("cancelled", str(superadam), {"seed": 4, **LONG}),
    ]
    study = submit(store, specs, tmp_path)
    stopped, cancelled = by_label(store, study, "stopped").id, by_label(store, study, "cancelled").id
    executor = DaskExecutor(scheduler)
    controller = Controller(store, executor)
    asked: set[int] = set()

    def stop_or_cancel(event: dict[str, Any]) -> None:
        job_id = event.job_id
        if event.type == "progress" and job_id in (stopped, cancelled) and job_id not in asked:
            asked.add(job_id)
            if job_id == stopped:
                executor.stop(stopped)
            else:
                controller.request_cancel(cancelled)

    controller.listeners.append(stop_or_cancel)
    started = time.monotonic()
    summary = run_study(controller, study)
    assert asked == {stopped, cancelled}
    assert summary.counts["succeeded"] == 3 and summary.counts["cancelled"] == 1
    stopped_job = by_label(store, study, "stopped")
    assert stopped_job.runs == 2 and stopped_job.attempts == 1, "cut short, then run again, uncharged"
    assert stopped_job.result is not None and stopped_job.result["complete"], "never a cut-short success"
    cancelled_job = by_label(store, study, "cancelled")
    assert cancelled_job.state is JobState.CANCELLED and cancelled_job.fom is not None, "keeps its best"
    assert cancelled_job.result is not None and cancelled_job.result["complete"] is False
    assert time.monotonic() - started < 60


def test_a_controller_interrupted_mid_study_resumes_without_duplicates(
    scheduler: str, store: Store, superadam: Path, tmp_path: Path
) -> None:
    specs = seeds_study(superadam, range(1, 7))
    study = submit(store, specs, tmp_path)
    stop = threading.Event()
    recorder = Recorder()

    def stop_after_two(event: dict[str, Any]) -> None:
        if event.type == "result" and len(recorder.of("result")) >= 2:
            stop.set()

    first = Controller(store, DaskExecutor(scheduler))
    first.listeners += [recorder, stop_after_two]
    summary = first.run(study, stop=stop)
    assert summary.interrupted and summary.counts["running"] == 0
    done_first = {j.id: j.fom for j in jobs_of(store, study) if j.state is JobState.SUCCEEDED}
    summary = run_study(Controller(store, DaskExecutor(scheduler)), study, recorder)
    assert summary.counts["succeeded"] == 6
    for job in jobs_of(store, study):
        assert job.attempts <= 1, "an interruption is not charged as an attempt"
        if job.id in done_first:
            assert job.runs == 1 and job.fom == done_first[job.id], "finished jobs are not rerun"
    assert recorder.results_per_job() == {j.id: 1 for j in jobs_of(store, study)}
