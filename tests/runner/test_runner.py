"""The runner child process: warm reuse, protocol, errors, death, stop requests."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from metagenx.engine.model import GenxModel
from metagenx.events import Finished
from metagenx.jobs import DataAssignment, FitTask, ParameterOverride
from metagenx.outputs.collect import FIT_OUTPUTS, POSTERIOR_OUTPUTS, collect, fit_outputs
from metagenx.runner.process import RunnerDied, RunnerProcess, death_reason
from tests.conftest import EditModel


@pytest.fixture
def runner() -> RunnerProcess:
    process = RunnerProcess()
    yield process
    process.close()


def test_warm_runner_runs_tasks_in_turn_with_identical_results(
    runner: RunnerProcess, superadam: Path
) -> None:
    ready = runner.wait_ready()
    assert ready.genx_version == "3.8.13"
    events: list[dict[str, object]] = []
    outcomes = [
        runner.run(
            FitTask(job_id=i, model_path=str(superadam), settings={"seed": 1, "max_generations": 3}),
            events.append,
        )
        for i in (1, 2)
    ]
    assert all(o.ok for o in outcomes)
    assert outcomes[0].message.result.fom == outcomes[1].message.result.fom
    assert next(e.type for e in events if e.job_id == 1) == "started"
    assert {e.type for e in events} == {"started", "progress", "snapshot", "result"}
    assert runner.tasks_run == 2 and runner.alive(), "the same process ran both"


def test_task_changes_are_applied(runner: RunnerProcess, superadam: Path, tmp_path: Path) -> None:
    task = FitTask(
        job_id=1,
        model_path=str(superadam),
        settings={"seed": 1, "max_generations": 2},
        output=str(tmp_path / "out" / "fitted.hgx"),
        overrides=[ParameterOverride("SiO.setSigma", fit=False, value=3.5)],
        start_values={"SiO.setD": 1300.0},
    )
    outcome = runner.run(task)
    assert outcome.ok, outcome.message
    assert isinstance(outcome.message, Finished)
    result = outcome.message.result
    names = [p.name for p in result.parameters]
    assert "SiO.setSigma" not in names
    assert next(p.start for p in result.parameters if p.name == "SiO.setD") == 1300.0
    fitted = GenxModel.load(tmp_path / "out" / "fitted.hgx")
    assert next(p.value for p in fitted.parameters if p.name == "SiO.setSigma") == 3.5
    assert json.loads((tmp_path / "out" / "result.json").read_text())["fom"] == result.fom
    found = collect(tmp_path / "out", fit_outputs(tmp_path / "out" / "fitted.hgx")).files
    assert set(found) == {"model", *FIT_OUTPUTS} - {"solve_json", *POSTERIOR_OUTPUTS}, (
        "every file a fit writes"
    )


def test_a_model_error_is_reported_and_the_runner_lives_on(runner: RunnerProcess, superadam: Path) -> None:
    bad = runner.run(FitTask(job_id=1, model_path="/nonexistent/model.hgx", settings={}))
    assert bad.message.type == "error" and "does not exist" in bad.message.message
    missing = runner.run(
        FitTask(
            job_id=2, model_path=str(superadam), settings={}, data=[DataAssignment(0, "/nonexistent.dat")]
        )
    )
    assert missing.message.type == "error" and "nonexistent.dat" in missing.message.message
    good = runner.run(
        FitTask(job_id=3, model_path=str(superadam), settings={"seed": 1, "max_generations": 1})
    )
    assert good.ok


def test_stop_request_returns_the_best_so_far(runner: RunnerProcess, superadam: Path) -> None:
    runner.wait_ready()

    def stop_once_running(event: dict[str, object]) -> None:
        if event.type == "progress" and event.generation >= 2:
            runner.request_stop()

    outcome = runner.run(
        FitTask(job_id=1, model_path=str(superadam), settings={"seed": 1}), stop_once_running
    )
    assert outcome.ok
    assert outcome.message.result.stop_reason == "stopped on request"


def test_a_killed_runner_raises_runner_died_with_the_signal(runner: RunnerProcess, superadam: Path) -> None:
    runner.wait_ready()
    threading.Timer(0.5, runner.kill).start()
    started = time.monotonic()
    with pytest.raises(RunnerDied, match="SIGKILL"):
        runner.run(FitTask(job_id=1, model_path=str(superadam), settings={"seed": 1}))
    assert time.monotonic() - started < 30


def test_a_model_that_exits_its_process_is_reported(
    runner: RunnerProcess, superadam: Path, edited_model: EditModel
) -> None:
    def edit(model: GenxModel) -> None:
        model.model.set_script(
            model.script.replace("def Sim(data):", "def Sim(data):\n    import os; os._exit(3)")
        )

    path = edited_model(superadam, edit, "exits.hgx")
    with pytest.raises(RunnerDied, match="exited with status 3"):
        runner.run(FitTask(job_id=1, model_path=str(path), settings={"seed": 1}))


def test_death_reason_names_signals_and_last_words() -> None:
    assert "SIGSEGV" in death_reason(-11, "")
    assert death_reason(1, "Traceback\nMemoryError\n").endswith("its last words: MemoryError")
