"""Interruption means re-queue, never success; a cancel keeps what was found; damage is reported."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from pathlib import Path

from metagenx.store import Job, JobState, open_store
from tests.faults.conftest import FITS, cli, write_study
from tests.faults.test_storage import damage
from tests.server.conftest import LONG, Api, StartApi


def states(folder: Path) -> dict[str, Job]:
    with open_store(None, folder) as store, store.session() as session:
        return {str(job.label): job for job in session.query(Job)}


def wait_succeeded(folder: Path, count: int, timeout: float = 120.0) -> None:
    """Until ``count`` fits of the study in ``folder`` have succeeded (its store made by the CLI)."""
    deadline = time.monotonic() + timeout
    while not (folder / "metagenx.db").exists():
        assert time.monotonic() < deadline, "the study never started"
        time.sleep(0.2)
    while sum(1 for j in states(folder).values() if j.state is JobState.SUCCEEDED) < count:
        assert time.monotonic() < deadline, f"{count} fits never finished"
        time.sleep(0.3)


def test_ctrl_c_requeues_the_fits_it_cuts_short_and_the_next_run_redoes_exactly_those(
    superadam: Path, tmp_path: Path
) -> None:
    study = write_study(tmp_path, superadam)
    folder = tmp_path / "faults"
    first = cli("study", "run", str(study), "--workers", "2", cwd=tmp_path)
    wait_succeeded(folder, 2)
    sent = time.monotonic()
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=30)
    took = time.monotonic() - sent
    assert first.returncode == 130, err
    assert took <= 2.0, f"exited {took:.1f} s after Ctrl-C"
    said = " ".join(out.split())
    assert "interrupted:" in said and "resume with the same command" in said, out
    before = states(folder)
    done = {label for label, job in before.items() if job.state is JobState.SUCCEEDED}
    assert 2 <= len(done) < FITS
    assert all(job.state in (JobState.SUCCEEDED, JobState.QUEUED) for job in before.values())
    assert all(job.result["complete"] for job in before.values() if job.result is not None)
    cut = {label for label, job in before.items() if job.state is JobState.QUEUED and job.runs == 1}
    assert cut, "some fits were running at the Ctrl-C"
    assert all(before[label].attempts == 0 for label in cut), "a cut-short fit is not charged"

    second = cli("study", "run", str(study), "--workers", "2", cwd=tmp_path)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    after = states(folder)
    assert all(job.state is JobState.SUCCEEDED and job.result["complete"] for job in after.values())
    assert {label for label, job in after.items() if job.runs > before[label].runs} == set(after) - done
    assert all(after[label].runs == before[label].runs for label in done), "finished fits are kept"


def test_a_second_ctrl_c_exits_at_once_and_the_next_run_recovers(superadam: Path, tmp_path: Path) -> None:
    study = write_study(tmp_path, superadam)
    folder = tmp_path / "faults"
    first = cli("study", "run", str(study), "--workers", "2", cwd=tmp_path)
    wait_succeeded(folder, 1)
    sent = time.monotonic()
    first.send_signal(signal.SIGINT)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=30)
    assert time.monotonic() - sent <= 2.0
    assert first.returncode != 0
    second = cli("study", "run", str(study), "--workers", "2", cwd=tmp_path)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    jobs = states(folder).values()
    assert all(job.state is JobState.SUCCEEDED and job.attempts <= 1 for job in jobs)


def test_a_cancelled_fit_keeps_its_best_result_marked_partial(start_api: StartApi, superadam: Path) -> None:
    api = start_api()
    job_id = api.submit(superadam, LONG).json()["id"]
    deadline = time.monotonic() + 60
    while (api.get(f"/api/v1/jobs/{job_id}").json().get("progress") or {}).get("generation", 0) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    cancelled = api.post(f"/api/v1/jobs/{job_id}/cancel").json()
    assert cancelled["state"] == "cancelled"
    deadline = time.monotonic() + 30
    while (job := api.get(f"/api/v1/jobs/{job_id}").json())["result"] is None:
        assert time.monotonic() < deadline, "the best result so far never came"
        time.sleep(0.1)
    assert job["state"] == "cancelled" and job["result"]["complete"] is False
    assert job["fom"] is not None and job["stop_reason"] == "stopped on request"
    assert {a["kind"] for a in job["artifacts"]} >= {"model", "result_json", "parameters_csv"}
    assert api.get(f"/api/v1/jobs/{job_id}/artifacts/result_json").json()["complete"] is False


def test_a_database_damaged_while_serving_is_reported_not_hidden(api: Api, superadam: Path) -> None:
    for seed in range(1, 4):
        api.wait(api.submit(superadam, {"max_generations": 2, "seed": seed}).json()["id"])
    assert api.get("/healthz").json()["database"] == "ok"
    service = api.client.app.state.service  # type: ignore[attr-defined]
    with service.store.engine.connect() as connection:  # every page in the main file, none in the log
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    damage(api.settings.data_dir / "metagenx.db")
    service.store.engine.dispose()  # no connection keeps pages read before the damage
    service.health = service.last_thorough = None  # the next health check reads the whole file
    health = api.get("/healthz")
    assert health.status_code == 503 and "damaged" in health.json()["database"], health.json()
    listed = api.get("/api/v1/jobs", params={"limit": 500})
    assert listed.status_code in (200, 503), listed.text
    if listed.status_code == 503:
        assert listed.headers["content-type"].startswith("application/json")
        assert "job database" in listed.json()["detail"]


def interrupt_after(process: subprocess.Popen[str], seconds: float) -> tuple[str, float]:
    """SIGINT after ``seconds``; the output and how long the process took to exit after it."""
    time.sleep(seconds)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    return " ".join(out.split()), time.monotonic() - sent


def test_ctrl_c_of_a_solve_writes_its_best_so_far_labelled_interrupted(
    superadam: Path, tmp_path: Path
) -> None:
    out = tmp_path / "solved" / "film.hgx"
    process = cli("solve", str(superadam), "--budget", "120", "--out", str(out), cwd=tmp_path)
    said, took = interrupt_after(process, 6.0)
    # it still writes every file of its answer (plots as PNG and SVG, the ORSO file, the solve's plot)
    assert process.returncode == 0 and took <= 4.0, (process.returncode, took)
    assert "interrupted:" in said and "not the solve's answer" in said, said
    assert json.loads((out.parent / "result.json").read_text())["complete"] is False
    table = csv.DictReader((out.parent / "parameters.csv").read_text().splitlines())
    assert {row["complete"] for row in table} == {"false"}


def test_ctrl_c_of_a_tune_drops_the_trial_it_cuts_short(superadam: Path, tmp_path: Path) -> None:
    import optuna

    data = tmp_path / "data"
    command = (
        "tune",
        str(superadam),
        "--trials",
        "5",
        "--seeds",
        "1",
        "--run-budget",
        "20",
        "--study",
        "cut",
    )
    process = cli(*command, "--data-dir", str(data), "--out", str(tmp_path / "tuned"), cwd=tmp_path)
    _, took = interrupt_after(process, 8.0)
    assert process.returncode == 0 and took <= 2.0, (process.returncode, took)
    storage = optuna.storages.RDBStorage(f"sqlite:///{data / 'metagenx-optuna.db'}")
    trials = optuna.load_study(study_name="cut", storage=storage).trials
    assert trials and trials[-1].state is optuna.trial.TrialState.FAIL, [t.state for t in trials]
    assert all(
        t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in trials[:-1]
    )
