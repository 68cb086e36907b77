"""Faults of the batch system, survived: a worker job cancelled (``scancel``) in the middle of a study and a
worker job reaching its walltime. The lost fits run again, every job has exactly one result, the cluster
gets its jobs back, and ``metagenx cluster slurm`` says what happened."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import dask
import pytest

from metagenx.controller import Controller
from metagenx.executors.batch_watch import LostFits
from metagenx.executors.dask import DaskExecutor
from metagenx.executors.dask_batch import BatchRequest, start_batch_cluster
from metagenx.executors.dask_connect import open_client
from metagenx.executors.dask_task import batch_job
from metagenx.store import JobState, Store
from tests.dask.conftest import LONG, Recorder, jobs_of, run_study, seeds_study, submit
from tests.slurm.conftest import Command
from tests.slurm.one_node import OneNodeSlurm

MOST_FITS = 80
"""A bound on the fits the study is fed while waiting for the walltime (it is reached long before)."""


def batch_jobs(client: Any) -> dict[str, str]:
    """Worker address → its Slurm job id."""
    answers = client.run(batch_job, on_error="ignore")  # a worker going away answers nothing
    return {worker: str(answer).rsplit(" ", 1)[1] for worker, answer in answers.items() if answer}


@pytest.mark.timeout(300)
def test_a_cancelled_job_and_a_job_at_its_walltime_lose_no_result_and_are_replaced(
    slurm: OneNodeSlurm, store: Store, superadam: Path, tmp_path: Path
) -> None:
    start = ["cluster", "slurm", "--jobs", "2", "--cores", "1", "--memory", "1GB", "--walltime", "00:10:00"]
    cluster = Command([*start, "--host", "127.0.0.1", "--scheduler-port", "0"], tmp_path, slurm.env)
    client = None
    try:
        address = cluster.wait_for(r"scheduler: (tcp://\S+)", timeout=60).group(1)
        client = open_client(address, timeout=10)
        client.wait_for_workers(2, timeout=90)
        jobs = batch_jobs(client)
        cancelled, timed_out = sorted(set(jobs.values()), key=int)
        # The walltime of one job is lowered to 1 minute, as an administrator can: Slurm then ends it
        # as it ends any job at its time limit (state TIMEOUT), 60 to 90 s after it started.
        slurm.run("scontrol", "update", f"JobId={timed_out}", "TimeLimit=1", check=True)

        study = submit(store, seeds_study(superadam, range(1, 5), **LONG), tmp_path)
        seeds = iter(range(5, MOST_FITS + 1))
        recorder = Recorder()
        state: dict[str, Any] = {"scancel": None, "feeding": True}
        # min_capacity 4: two fits wait at Dask's scheduler, so a worker is never idle between fits and
        # the job at its walltime surely has a fit running when it ends.
        controller = Controller(store, DaskExecutor(address, min_capacity=4))

        def cancel_a_job_under_a_running_fit(event: Any) -> None:
            if event.type != "progress" or state["scancel"] is not None:
                return
            started = recorder.of("started", event.job_id)
            if started and jobs.get(started[-1].worker) == cancelled:
                state["scancel"] = event.job_id
                threading.Thread(target=slurm.run, args=("scancel", cancelled), daemon=True).start()

        def feed_until_both_jobs_are_replaced(event: Any) -> None:
            if event.type != "result" or not state["feeding"]:
                return
            replaced = f"worker job {timed_out} reached its walltime" in cluster.text()
            if replaced and len(set(batch_jobs(client).values()) - {cancelled, timed_out}) == 2:
                state["feeding"] = False
                return
            seed = next(seeds, None)
            if seed is not None:
                submit(store, seeds_study(superadam, range(seed, seed + 1), **LONG), tmp_path)
                controller.wake()

        controller.listeners += [
            recorder,
            cancel_a_job_under_a_running_fit,
            feed_until_both_jobs_are_replaced,
        ]
        summary = run_study(controller, study)
        assert not state["feeding"], "the study ran until both jobs were replaced:\n" + cluster.text()
        replacements = set(batch_jobs(client).values()) - {cancelled, timed_out}
    finally:
        if client is not None:
            client.close()
        code = cluster.stop()
    said = cluster.text()
    assert code == 0, said

    jobs_now = jobs_of(store, study)
    counts = {state: n for state, n in summary.counts.items() if n}
    assert counts == {"succeeded": len(jobs_now)}, [(j.label, j.last_error) for j in jobs_now]
    assert recorder.results_per_job() == {job.id: 1 for job in jobs_now}, "exactly one result per job"
    assert all(job.state is JobState.SUCCEEDED for job in jobs_now)
    states = slurm.job_states()
    assert states[cancelled] == "CANCELLED" and states[timed_out] == "TIMEOUT", states
    assert len(replacements) == 2, "the cluster has two jobs again"

    lost = {}
    for job_id, words in ((cancelled, "was cancelled by Slurm"), (timed_out, "reached its walltime")):
        match = re.search(rf"worker job {job_id} {words}.*; (\d+) fits? on it", said)
        assert match, f"the CLI says what happened to job {job_id}:\n{said}"
        lost[job_id] = int(match.group(1))
    assert lost[cancelled] >= 1 and lost[timed_out] >= 1, said
    rerun = [job for job in jobs_now if len(recorder.of("started", job.id)) > 1]
    assert state["scancel"] in {job.id for job in rerun}, "the fit under the cancelled job ran again"
    assert len(rerun) >= 2, "the fits lost with both jobs ran again"
    print(said)
    for event in recorder.of("crashed"):
        print(event.job_id, event.reason)


@pytest.mark.timeout(120)
def test_without_the_watch_a_cancelled_worker_job_is_not_replaced(
    slurm: OneNodeSlurm, tmp_path: Path
) -> None:
    """The twin of the test above with its protection off: dask-jobqueue alone (no SlurmWatch, which
    ``metagenx cluster slurm`` runs) leaves a fixed-size cluster a job short once Slurm ends one."""
    request = BatchRequest(
        cores=1,
        memory="1GB",
        walltime="00:10:00",
        jobs=1,
        host="127.0.0.1",
        port=0,
        job_directives=[f"--output={tmp_path}/slurm-%j.out"],
    )
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1s"}):
        cluster = start_batch_cluster("slurm", request, plugins=[LostFits()])
        client = open_client(str(cluster.scheduler_address), timeout=10)
        try:
            client.wait_for_workers(1, timeout=90)
            (job,) = set(batch_jobs(client).values())
            subprocess.run(["scancel", job], check=True, env=slurm.env)
            deadline = time.monotonic() + 30
            while client.nthreads() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not client.nthreads(), "the cancelled job's worker left"
            time.sleep(5.0)  # well past dask-jobqueue's lost-worker-timeout (1 s here)
            assert not client.nthreads() and not slurm.live_jobs(), "nothing replaced the job"
        finally:
            client.close()
            cluster.close()
