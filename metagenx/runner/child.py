"""The runner child: ``python -m metagenx.runner.child``.

Reads commands (:mod:`metagenx.runner.protocol`) as JSON lines on stdin and runs tasks one at a
time, keeping GenX imported between tasks (a warm worker). Writes protocol messages on its
original stdout; anything GenX or a model script prints goes to stderr instead, so that an
honest model never corrupts the protocol. A hostile one can still write to any descriptor it
holds: the parent checks every message and binds it to the task it gave (see
:class:`~metagenx.runner.process.RunnerProcess`). The outputs are found by the parent under
fixed names in the task's folder, never named in a message.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from metagenx.engine.posterior import SamplingStatus
from metagenx.engine.runtime import pin_threads
from metagenx.events import Failed, Finished, Progress, Ready, RunnerMessage, Started
from metagenx.jobs import FitTask

if TYPE_CHECKING:
    from metagenx.engine.covariance import Jacobian
    from metagenx.engine.model import GenxModel
    from metagenx.engine.posterior import SamplingCallback
    from metagenx.engine.result import FitResult
from metagenx.runner.protocol import (
    MAX_NAME,
    MAX_TEXT,
    PROGRESS_INTERVAL,
    SNAPSHOT_INTERVAL,
    Exit,
    Run,
    Stop,
    Warm,
    decode_command,
    encode,
    plain_text,
)


class Channel:
    """The protocol's output side: thread-safe writes of whole messages."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, message: RunnerMessage) -> None:
        data = encode(message)
        with self.lock:
            self.stream.write(data)
            self.stream.flush()


class Sender(Protocol):
    """Takes a task's messages: a :class:`Channel`, or an in-process executor's collector."""

    def send(self, message: RunnerMessage) -> None: ...


def run_task(
    task: FitTask,
    channel: Sender,
    stop: threading.Event,
    *,
    progress_interval: float = PROGRESS_INTERVAL,
    snapshot_interval: float = SNAPSHOT_INTERVAL,
    choose_kernels: bool = True,
) -> None:
    """Run one fit and send ``started``, ``progress`` and ``snapshot``… and one ``result`` or ``error``.

    Progress is sent at most every ``progress_interval`` seconds (0: every generation), a snapshot
    (:mod:`metagenx.runner.snapshot`) at most every ``snapshot_interval`` seconds and when the fit
    ends; a coordinated job's task (a solve's start, a tune's fit) sends no snapshots. With
    ``choose_kernels``, GenX's numba or numpy kernels are chosen for the model first
    (:func:`metagenx.engine.kernels.choose`; only in a process running one fit at a time)."""
    from metagenx.engine.fit import Progress as FitProgress
    from metagenx.engine.kernels import choose, kept
    from metagenx.engine.model import GenxModel
    from metagenx.engine.settings import FitSettings
    from metagenx.errors import MetagenxError
    from metagenx.runner.polish import fit_and_polish
    from metagenx.runner.snapshot import Snapshots
    from metagenx.runner.task import prepare_model
    from metagenx.runner.uncertainty import Throttle, with_posterior

    channel.send(Started(task.job_id, os.getpid()))
    last = [0.0]
    snapshots = Snapshots(task.job_id, channel.send, snapshot_interval) if task.part_of is None else None

    def progress(p: FitProgress) -> None:
        if snapshots is not None:
            snapshots.after_generation(p.generation, p.best_fom)
        now = time.monotonic()
        if now - last[0] < progress_interval and p.generation > 0:
            return
        last[0] = now
        best = p.best_fom if math.isfinite(p.best_fom) else None
        channel.send(Progress(task.job_id, p.generation, best, p.evaluations, max(0.0, p.elapsed)))

    started = time.perf_counter()
    try:
        model = GenxModel.load(task.model_path)
        prepare_model(model, task)
        prepared = time.perf_counter()
        kernels = choose(model) if choose_kernels else kept()
        loaded = time.perf_counter()
        settings = FitSettings.from_dict(task.settings)
        if snapshots is not None:
            snapshots.model = model
        result = fit_and_polish(model, settings, progress=progress, stop_event=stop)
        finished_fit = result.complete and not stop.is_set()
        jacobian = None
        if finished_fit and task.output is not None:
            result, jacobian = with_covariance(model, result)
        fitted = time.perf_counter()
        posterior = None
        # A coordinated job's fit (a solve's start) samples only when it is the one writing the
        # answer's files.
        if finished_fit and settings.uncertainty and (task.part_of is None or task.output is not None):
            result, posterior = with_posterior(
                model,
                result,
                settings,
                stop,
                Throttle(sampling_progress(task, result, channel), progress_interval),
                None if task.time_limit is None else task.time_limit - (time.perf_counter() - started),
            )
        if finished_fit and task.output is not None:
            from metagenx.runner.advice import with_advice

            result = with_advice(model, result, jacobian)
        if snapshots is not None:
            snapshots.at_end(result)
        sampled = time.perf_counter()
        if task.output is not None:
            from metagenx.outputs import write_outputs

            write_outputs(model, result, Path(task.output), posterior=posterior)
        done = time.perf_counter()
        # Seconds spent on: the model and its data, choosing its kernels, the fit, the posterior
        # sampling, the output files, the whole task;
        # kept in the result's ``extra`` (stored with it), with the notes of loading the model.
        timings = {
            "load": prepared - started,
            "kernels": loaded - prepared,
            "fit": fitted - loaded,
            "uncertainty": sampled - fitted,
            "outputs": done - sampled,
            "task": done - started,
        }
        extra = {**result.extra, "timings": timings, "kernels": kernels.to_dict()}
        extra |= {"notes": list(model.notes)} if model.notes else {}
        channel.send(Finished(task.job_id, replace(result, extra=extra)))
    except MetagenxError as exc:
        channel.send(failure(task, type(exc).__name__, str(exc)))
    except MemoryError:
        channel.send(failure(task, "MemoryError", "ran out of memory"))
    except Exception as exc:  # a bug or an unforeseen GenX failure: report it, keep the worker alive
        traceback.print_exc(file=sys.stderr)
        channel.send(failure(task, type(exc).__name__, f"unexpected {type(exc).__name__}: {exc}"))


def sampling_progress(task: FitTask, result: FitResult, channel: Sender) -> SamplingCallback:
    """Send the posterior sampling's progress as ``progress`` messages carrying its status."""

    def send(status: SamplingStatus, elapsed: float) -> None:
        channel.send(
            Progress(
                task.job_id, result.generations, result.fom, result.evaluations, elapsed, sampling=status
            )
        )

    return send


COVARIANCE_SHARE = 0.2
"""The Jacobian covariance is skipped when its ``2 p`` simulations would take longer than this share
of the fit (and more than :data:`COVARIANCE_SECONDS`)."""
COVARIANCE_SECONDS = 2.0


def with_covariance(model: GenxModel, result: FitResult) -> tuple[FitResult, Jacobian | None]:
    """``result`` with ``extra["covariance"]``: the Jacobian covariance at the optimum
    (:mod:`metagenx.engine.covariance`), or why there is none; and the Jacobian it came from (for
    the advisor), None when it was not computed or there is none."""
    from metagenx.engine.covariance import covariance_from, weighted_jacobian

    per_evaluation = result.wall_time / max(result.evaluations, 1)
    cost = 2 * len(result.parameters) * per_evaluation
    if cost > max(COVARIANCE_SECONDS, COVARIANCE_SHARE * result.wall_time):
        skipped = {"skipped": f"would take about {cost:.3g} s, more than the fit allows"}
        return replace(result, extra={**result.extra, "covariance": skipped}), None
    jacobian = weighted_jacobian(model)
    if jacobian is None:
        found: dict[str, object] = {"skipped": "no data point has an error bar"}
    else:
        found = covariance_from(jacobian).to_dict()
    return replace(result, extra={**result.extra, "covariance": found}), jacobian


def failure(task: FitTask, kind: str, message: str) -> Failed:
    """The ``error`` message of ``task``, its texts within the protocol's bounds."""
    return Failed(task.job_id, plain_text(kind, MAX_NAME), plain_text(message, MAX_TEXT))


def read_commands(stream: BinaryIO, tasks: queue.Queue[FitTask | None], stop: threading.Event) -> None:
    """Reader thread: queue tasks, set ``stop`` on a stop request, warm the plot renderer on a warm
    request; end of input means exit."""
    for line in stream:
        if not line.strip():
            continue
        match decode_command(line):
            case Run(task=task):
                stop.clear()
                tasks.put(task)
            case Stop():
                stop.set()
            case Warm():  # sent to an idle runner: no task waits for it
                from metagenx.outputs.plots import warm_up

                warm_up()
            case Exit():
                break
    stop.set()
    tasks.put(None)


def main() -> None:
    pin_threads()
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    channel = Channel(protocol_out)
    from metagenx.engine.runtime import genx

    modules = genx()  # import GenX before announcing readiness: the warm part of a worker
    channel.send(Ready(os.getpid(), modules.version))
    tasks: queue.Queue[FitTask | None] = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=read_commands, args=(sys.stdin.buffer, tasks, stop), daemon=True)
    reader.start()
    while (task := tasks.get()) is not None:
        run_task(task, channel, stop)


if __name__ == "__main__":
    main()
