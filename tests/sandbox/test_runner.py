"""The sandboxed runner alone: warm reuse, per-task limits, leftovers, outputs handed back, no sandbox."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from metagenx.controller import Controller
from metagenx.errors import SettingsError
from metagenx.events import RunnerMessage, Started
from metagenx.executors import LocalExecutor
from metagenx.jobs import FitTask, JobSpec
from metagenx.runner.process import RunnerDied
from metagenx.sandbox import (
    Layer,
    Limits,
    SandboxedRunnerProcess,
    SandboxPolicy,
    SandboxUnavailableError,
    check_sandbox,
    sandboxed_runner_factory,
)
from metagenx.store import JobFilter, JobState, StudyKind, list_jobs, open_store
from metagenx.study.submit import submit_study
from tests.sandbox.conftest import NORMAL_SETTINGS, with_script_prefix


def sleepers() -> list[str]:
    """Pids of ``sleep 600`` processes on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == b"sleep\x00600\x00":
                found.append(entry.name)
        except OSError:
            continue
    return found


@pytest.fixture
def runner(policy: SandboxPolicy) -> Iterator[SandboxedRunnerProcess]:
    process = SandboxedRunnerProcess(policy)
    yield process
    process.close()


def task(job_id: int, model: Path, study: Path, settings: dict[str, object] | None = None) -> FitTask:
    return FitTask(
        job_id=job_id,
        model_path=str(model),
        settings=settings or NORMAL_SETTINGS,
        output=str(study / "jobs" / f"{job_id:05d}-fit" / model.with_suffix(".hgx").name),
    )


def test_a_warm_sandbox_runs_the_jobs_of_a_study_and_hands_outputs_back(
    runner: SandboxedRunnerProcess, superadam: Path, tmp_path: Path
) -> None:
    events: list[RunnerMessage] = []
    first = runner.run(task(1, superadam, tmp_path), events.append)
    pid = runner.pid
    second = runner.run(task(2, superadam, tmp_path), events.append)
    assert first.ok and second.ok, (first.message, second.message)
    assert runner.pid == pid and runner.alive(), "the same sandbox ran both"
    assert first.message.result.fom == second.message.result.fom
    started = [e for e in events if isinstance(e, Started)]
    assert started and all(os.path.exists(f"/proc/{e.pid}") for e in started), "host pids"
    for job in (tmp_path / "jobs").iterdir():
        files = list(job.iterdir())
        assert {p.name for p in files} >= {"SuperAdam_SiO.hgx", "result.json", "fit.png"}
        assert all(p.stat().st_uid == os.geteuid() for p in [job, *files]), (
            "outputs belong to the server again"
        )


def test_per_task_limits_come_from_limits_for(policy: SandboxPolicy, superadam: Path, tmp_path: Path) -> None:
    sleepy = with_script_prefix(superadam, "import time\ntime.sleep(60)", tmp_path / "sleepy.hgx")
    short = dataclasses.replace(policy.limits, wall_seconds=3)
    chosen = dataclasses.replace(policy, limits_for=lambda t: short if t.job_id == 1 else policy.limits)
    runner = SandboxedRunnerProcess(chosen)
    try:
        outcome = runner.run(task(1, sleepy, tmp_path))
        assert outcome.message.message == "stopped: ran longer than the wall-time limit of 3 s"
        assert outcome.message.kind == "LimitExceededError"
        assert runner.sandbox is None and runner.alive(), "a sandbox that hit a limit is thrown away"
    finally:
        runner.close()


def test_a_process_left_behind_dies_with_its_sandbox(
    runner: SandboxedRunnerProcess, superadam: Path, tmp_path: Path
) -> None:
    code = "import subprocess\nsubprocess.Popen(['sleep', '600'], start_new_session=True)"
    leaves = with_script_prefix(superadam, code, tmp_path / "leaves.hgx")
    outcome = runner.run(task(1, leaves, tmp_path))
    assert outcome.ok, outcome.message
    assert runner.sandbox is None, "the sandbox with a leftover process was ended"
    assert not sleepers(), "the leftover process is gone"
    assert runner.run(task(2, superadam, tmp_path)).ok, "the next task gets a fresh sandbox"


def test_symlinks_in_outputs_are_refused_or_removed(
    policy: SandboxPolicy, superadam: Path, tmp_path: Path
) -> None:
    code = (
        "import os\n"
        f"_jobs = '{tmp_path / 'jobs'}'\n"
        "_d = [os.path.join(_jobs, n) for n in os.listdir(_jobs)]\n"
        "_d = [d for d in _d if os.access(d, os.W_OK)]\n"
        "try:\n"
        "    if not os.path.lexists(os.path.join(_d[0], 'fit.csv')):  # GenX may compile the script twice\n"
        "        os.symlink('/etc/shadow', os.path.join(_d[0], 'fit.csv'))\n"
        "except PermissionError:\n"
        "    open(os.path.join(_d[0], 'refused'), 'w').close()\n"
    )
    linking = with_script_prefix(superadam, code, tmp_path / "links.hgx")
    for landlock in (Layer.AUTO, Layer.OFF):  # Landlock refuses symlinks; without it they are removed after
        runner = SandboxedRunnerProcess(dataclasses.replace(policy, landlock=landlock))
        try:
            assert runner.run(task(1 if landlock is Layer.AUTO else 2, linking, tmp_path)).ok
        finally:
            runner.close()
    assert not [p for p in (tmp_path / "jobs").rglob("*") if p.is_symlink()]
    assert (tmp_path / "jobs" / "00001-fit" / "refused").exists(), "Landlock refused the symlink"


def test_no_sandbox_no_fit_when_it_is_required_but_missing(superadam: Path, tmp_path: Path) -> None:
    missing = SandboxPolicy(bwrap="/nonexistent/bwrap")
    report = check_sandbox(missing)
    assert not report.ok and report.missing()[0].name == "bubblewrap"
    with pytest.raises(SandboxUnavailableError, match="apt-get install bubblewrap"):
        report.require()
    store = open_store(f"sqlite:///{tmp_path / 'metagenx.db'}", tmp_path)
    specs = [
        JobSpec(label=f"s{s}", model_path=str(superadam), settings={**NORMAL_SETTINGS, "seed": s})
        for s in (1, 2)
    ]
    study = submit_study(store, project="p", name="n", kind=StudyKind.STUDY, specs=specs, directory=tmp_path)
    controller = Controller(store, LocalExecutor(workers=2, runner_factory=sandboxed_runner_factory(missing)))
    events: list[dict[str, object]] = []
    controller.listeners.append(events.append)
    summary = controller.run(study)
    controller.close()
    assert summary.counts["failed"] == 2
    with store.session() as session:
        jobs = list_jobs(session, JobFilter(study_id=study))
    for job in jobs:
        assert job.state is JobState.FAILED and job.runs == 1
        assert "the sandbox this server requires is not available" in (job.last_error or "")
        assert "bubblewrap" in (job.last_error or "") and "apt-get install bubblewrap" in (
            job.last_error or ""
        )
    assert not [e for e in events if e.type in ("started", "progress")], "nothing ran"
    assert not (tmp_path / "jobs").exists()
    store.close()


def test_the_report_lists_every_layer(policy: SandboxPolicy) -> None:
    report = check_sandbox(policy)
    assert report.ok
    names = [layer.name for layer in report.layers]
    assert names == [
        "bubblewrap",
        "root",
        "dedicated uids",
        "namespaces",
        "unprivileged uid",
        "user namespace",
        "landlock",
        "seccomp",
    ]
    text = report.describe()
    assert "MISSING" not in text and "no capabilities" in text and "at most 32 processes" in text


def test_a_top_level_output_directory_is_refused(runner: SandboxedRunnerProcess, superadam: Path) -> None:
    outcome = runner.run(FitTask(job_id=1, model_path=str(superadam), settings={}, output="/tmp/x.hgx"))
    assert outcome.message.type == "error" and "top-level folder" in outcome.message.message


def test_limits_merge_per_user_overrides() -> None:
    server = Limits(cpu_seconds=100)
    user = server.merged({"cpu_seconds": 20, "memory_bytes": None})
    assert user.cpu_seconds == 20 and user.memory_bytes == server.memory_bytes
    with pytest.raises(SettingsError, match="unknown sandbox limit"):
        server.merged({"gpu": 1})


def test_a_model_that_kills_its_runner_is_a_crash_named_by_its_signal(
    runner: SandboxedRunnerProcess, superadam: Path, tmp_path: Path
) -> None:
    code = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    killer = with_script_prefix(superadam, code, tmp_path / "killer.hgx")
    with pytest.raises(RunnerDied, match="killed by SIGKILL"):
        runner.run(task(1, killer, tmp_path))
    assert runner.run(task(2, superadam, tmp_path)).ok, "the next task gets a fresh sandbox"


LONG_SAMPLING = {
    "seed": 1,
    "max_generations": 5,
    "uncertainty": True,
    "uncertainty_samples": 1_000_000,
    "uncertainty_burn": 1_000_000,
    "uncertainty_time": 3600.0,
}


@pytest.mark.parametrize("told", [True, False], ids=["told-its-limit", "not-told"])
def test_a_long_posterior_sampling_ends_inside_the_limits_and_keeps_the_fit(
    policy: SandboxPolicy,
    superadam: Path,
    tmp_path: Path,
    told: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Asked for more sampling than the limits allow, the runner shortens it and the fit's result
    comes back with a posterior marked as cut by the time cap; a runner not told its limit (the
    twin) is killed by the watchdog and the fit is lost."""
    from tests.engine.synthetic import simulated_model

    model = simulated_model(superadam, tmp_path, 1)
    if not told:
        monkeypatch.setattr(SandboxedRunnerProcess, "limited", staticmethod(lambda task, limits: task))
    runner = SandboxedRunnerProcess(policy)
    try:
        outcome = runner.run(task(1, model, tmp_path, LONG_SAMPLING))
    finally:
        runner.close()
    if not told:
        assert not outcome.ok and outcome.message.kind == "LimitExceededError"
        return
    assert outcome.ok, outcome.message
    posterior = outcome.message.result.extra["posterior"]
    assert posterior["stop"] == "time" and not posterior["converged"]
    assert "inside the fit's time limit" in posterior["note"]
