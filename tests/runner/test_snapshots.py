"""Snapshots of a running fit: what the runner sends, that they leave the fit unchanged, and the
checks at the boundary (each attack runs once more with its protection off, where it gets through)."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest

from metagenx.engine.fit import run_fit
from metagenx.engine.model import GenxModel
from metagenx.engine.settings import FitSettings
from metagenx.errors import RunnerProtocolError
from metagenx.events import CurrentCurve, CurrentValue, Finished, RunnerMessage, Snapshot
from metagenx.jobs import FitTask, ParameterOverride
from metagenx.runner import process
from metagenx.runner.child import run_task
from metagenx.runner.names import ParameterNames
from metagenx.runner.process import RunnerProcess
from metagenx.runner.protocol import MAX_SNAPSHOT_POINTS, decode_runner_message, encode
from tests.server.payloads import forging_model, message

SETTINGS = {"seed": 3, "max_generations": 4, "population": 8}
JOB = 7
FORGED_FOM = 0.125


class Collect:
    def __init__(self) -> None:
        self.messages: list[RunnerMessage] = []

    def send(self, message: RunnerMessage) -> None:
        self.messages.append(message)


def snapshot(
    job_id: int = JOB, names: tuple[str, ...] = ("a", "b"), points: int = 3, **curve: Any
) -> Snapshot:
    columns: dict[str, Any] = {
        "x": [0.01 * i for i in range(points)],
        "y": [1.0] * points,
        "error": [0.1] * points,
    }
    columns |= {"simulated": [0.9] * points} | curve
    return Snapshot(
        job_id, 2, FORGED_FOM, [CurrentValue(n, 1.0) for n in names], [CurrentCurve("d0", True, **columns)]
    )


@pytest.fixture
def runner() -> Any:
    started = RunnerProcess()
    yield started
    started.close()


def test_a_fit_sends_its_current_best_and_ends_with_its_own_values(superadam: Path) -> None:
    """Every generation's snapshot (interval 0) leaves the fit as it is without them."""
    sent = Collect()
    task = FitTask(job_id=JOB, model_path=str(superadam), settings=SETTINGS)
    run_task(task, sent, threading.Event(), snapshot_interval=0.0, choose_kernels=False)
    end = sent.messages[-1]
    assert isinstance(end, Finished)
    snapshots = [m for m in sent.messages if isinstance(m, Snapshot)]
    assert len(snapshots) >= SETTINGS["max_generations"] + 1
    result = end.result
    names = [p.name for p in result.parameters]
    assert all([p.name for p in s.parameters] == names for s in snapshots)
    last = snapshots[-1]
    assert [p.value for p in last.parameters] == [p.value for p in result.parameters]
    assert last.best_fom == result.fom and last.generation == result.generations
    assert last.datasets[0].simulated == result.datasets[0].simulated
    assert all(s.best_fom is not None and s.best_fom >= result.fom for s in snapshots)
    alone = run_fit(GenxModel.load(superadam), FitSettings.from_dict(SETTINGS))
    assert alone.fom_history == result.fom_history and alone.fom == result.fom


def test_a_runner_sends_a_snapshot_at_the_start_and_at_the_end(
    runner: RunnerProcess, superadam: Path
) -> None:
    events: list[RunnerMessage] = []
    outcome = runner.run(FitTask(job_id=JOB, model_path=str(superadam), settings=SETTINGS), events.append)
    assert outcome.ok
    snapshots = [e for e in events if isinstance(e, Snapshot)]
    assert len(snapshots) == 2, "a short fit: its first generation and its end (time-throttled between)"
    assert snapshots[0].generation == 0 and snapshots[1].generation == SETTINGS["max_generations"]


def test_long_data_are_thinned_to_the_limit() -> None:
    from metagenx.runner.snapshot import stride_for

    assert stride_for([MAX_SNAPSHOT_POINTS]) == 1
    assert stride_for([MAX_SNAPSHOT_POINTS, 1]) == 2


REFUSED = {
    "too many points": snapshot(points=MAX_SNAPSHOT_POINTS + 1),
    "columns of unequal length": snapshot(simulated=[1.0]),
    "a parameter named twice": snapshot(names=("a", "a")),
    "a name with a terminal escape": snapshot(names=("\x1b[2Ja",)),
}


@pytest.mark.parametrize("name", REFUSED)
def test_the_boundary_refuses_a_malformed_snapshot(name: str) -> None:
    with pytest.raises(RunnerProtocolError, match="the runner sent"):
        decode_runner_message(encode(REFUSED[name]))


def test_the_boundary_refuses_non_finite_numbers() -> None:
    line = encode(snapshot(simulated=[math.inf, 1.0, 1.0]))
    assert b"Infinity" in line
    with pytest.raises(RunnerProtocolError, match="not finite"):
        decode_runner_message(line)
    assert decode_runner_message(encode(snapshot(simulated=[None, 1.0, 1.0]))) == snapshot(
        simulated=[None, 1.0, 1.0]
    )


def test_a_task_keeps_the_parameters_it_first_named() -> None:
    task = FitTask(
        JOB, "m.hgx", {}, overrides=[ParameterOverride("b", fit=True), ParameterOverride("c", fit=False)]
    )
    names = ParameterNames(task)
    with pytest.raises(RunnerProtocolError, match="which the job fits"):
        ParameterNames(task).check(snapshot(names=("a",)))
    with pytest.raises(RunnerProtocolError, match="which the job keeps fixed"):
        ParameterNames(task).check(snapshot(names=("b", "c")))
    names.check(snapshot(names=("a", "b")))
    with pytest.raises(RunnerProtocolError, match="do not change"):
        names.check(snapshot(names=("a", "b", "x")))


# -- a model that forges snapshots ---------------------------------------------------------------
def forged_lines() -> dict[str, bytes]:
    honest = dataclass_line(snapshot())
    return {
        "for another job": dataclass_line(snapshot(job_id=JOB + 1)),
        "huge": dataclass_line(snapshot(points=MAX_SNAPSHOT_POINTS + 1)),
        "non-finite": honest.replace(b"[0.9,0.9,0.9]", b"[NaN,Infinity,0.9]"),
        "of another model": dataclass_line(snapshot(names=("FORGED",)))
        + dataclass_line(snapshot(names=("b",))),
    }


def dataclass_line(event: Snapshot) -> bytes:
    fields = json.loads(encode(event))
    return message(fields.pop("type"), **fields)


@pytest.mark.parametrize("attack", ["for another job", "huge", "non-finite", "of another model"])
def test_a_forged_snapshot_fails_the_task(
    runner: RunnerProcess, superadam: Path, tmp_path: Path, attack: str
) -> None:
    model = forging_model(superadam, tmp_path / "forger.hgx", [forged_lines()[attack]])
    with pytest.raises(RunnerProtocolError, match="the runner"):
        runner.run(FitTask(job_id=JOB, model_path=str(model), settings=SETTINGS))


@pytest.mark.parametrize("attack", ["for another job", "huge", "non-finite", "of another model"])
def test_without_the_checks_a_forged_snapshot_would_get_through(
    runner: RunnerProcess, superadam: Path, tmp_path: Path, attack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lax(line: bytes) -> Any:  # what a runner says, believed as it is
        fields = json.loads(line)
        if fields.get("type") != "snapshot":
            return decode_runner_message(line)
        fields.pop("type")
        return Snapshot(**fields)

    monkeypatch.setattr(process, "decode_runner_message", lax)
    monkeypatch.setattr(process, "check_bound", lambda task, message: None)
    monkeypatch.setattr(ParameterNames, "check", lambda self, message: None)
    model = forging_model(superadam, tmp_path / "forger.hgx", [forged_lines()[attack]])
    events: list[RunnerMessage] = []
    runner.run(FitTask(job_id=JOB, model_path=str(model), settings=SETTINGS), events.append)
    forged = [e for e in events if isinstance(e, Snapshot) and e.best_fom == FORGED_FOM]
    assert forged, "the forged snapshot reached the controller's side"


def test_an_unknown_x_axis_is_refused() -> None:
    from metagenx.runner.protocol import check_curve

    assert check_curve(CurrentCurve("d", True, [0.1], [1.0], [0.1], [1.0], x_axis="q")) == 1
    with pytest.raises(RunnerProtocolError, match="unknown x axis"):
        check_curve(CurrentCurve("d", True, [0.1], [1.0], [0.1], [1.0], x_axis="<script>"))
