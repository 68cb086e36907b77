"""The runner child: ``python -m metagenx.runner.child``.

Reads tasks as JSON lines on stdin and runs them one at a time, keeping GenX
imported between tasks (a warm worker). Writes protocol messages on its original
stdout; anything GenX or a model script prints goes to stderr instead, so it can
never corrupt the protocol.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, BinaryIO

from metagenx.engine.runtime import pin_threads
from metagenx.runner.protocol import PROGRESS_INTERVAL, FitTask, decode, encode


class Channel:
    """The protocol's output side: thread-safe writes of whole messages."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = encode(message)
        with self.lock:
            self.stream.write(data)
            self.stream.flush()


def run_task(task: FitTask, channel: Channel, stop: threading.Event) -> None:
    """Run one fit and send ``started``, ``progress``… and one ``result`` or ``error``."""
    from metagenx.engine.fit import Progress, run_fit
    from metagenx.engine.model import GenxModel
    from metagenx.engine.settings import FitSettings
    from metagenx.errors import MetagenxError
    from metagenx.runner.task import prepare_model

    channel.send({"type": "started", "job_id": task.job_id, "pid": os.getpid()})
    last = [0.0]

    def progress(p: Progress) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL and p.generation > 0:
            return
        last[0] = now
        channel.send(
            {
                "type": "progress",
                "job_id": task.job_id,
                "generation": p.generation,
                "best_fom": p.best_fom,
                "evaluations": p.evaluations,
                "elapsed": p.elapsed,
            }
        )

    started = time.perf_counter()
    try:
        model = GenxModel.load(task.model_path)
        prepare_model(model, task)
        loaded = time.perf_counter()
        result = run_fit(model, FitSettings.from_dict(task.settings), progress=progress, stop_event=stop)
        fitted = time.perf_counter()
        artifacts: dict[str, str] = {}
        if task.output is not None:
            from metagenx.outputs import write_outputs

            files = write_outputs(model, result, Path(task.output))
            artifacts = {name: str(path) for name, path in vars(files).items()}
        done = time.perf_counter()
        # Seconds spent on: the model and its data, the fit, the output files, the whole task;
        # kept in the result's ``extra`` (stored with it).
        timings = {
            "load": loaded - started,
            "fit": fitted - loaded,
            "outputs": done - fitted,
            "task": done - started,
        }
        payload = result.to_dict()
        payload["extra"] = {**payload.get("extra", {}), "timings": timings}
        channel.send(
            {
                "type": "result",
                "job_id": task.job_id,
                "result": payload,
                "artifacts": artifacts,
            }
        )
    except MetagenxError as exc:
        channel.send(
            {"type": "error", "job_id": task.job_id, "kind": type(exc).__name__, "message": str(exc)}
        )
    except MemoryError:
        channel.send(
            {"type": "error", "job_id": task.job_id, "kind": "MemoryError", "message": "ran out of memory"}
        )
    except Exception as exc:  # a bug or an unforeseen GenX failure: report it, keep the worker alive
        traceback.print_exc(file=sys.stderr)
        channel.send(
            {
                "type": "error",
                "job_id": task.job_id,
                "kind": type(exc).__name__,
                "message": f"unexpected {type(exc).__name__}: {exc}",
            }
        )


def read_commands(stream: BinaryIO, tasks: queue.Queue[FitTask | None], stop: threading.Event) -> None:
    """Reader thread: queue tasks, set ``stop`` on a stop request, warm the plot renderer on a warm
    request; end of input means exit."""
    for line in stream:
        if not line.strip():
            continue
        message = decode(line)
        if message["type"] == "task":
            stop.clear()
            tasks.put(FitTask.from_message(message))
        elif message["type"] == "stop":
            stop.set()
        elif message["type"] == "warm":  # sent to an idle runner: no task waits for it
            from metagenx.outputs.plots import warm_up

            warm_up()
        elif message["type"] == "exit":
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
    channel.send({"type": "ready", "pid": os.getpid(), "genx_version": modules.version})
    tasks: queue.Queue[FitTask | None] = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=read_commands, args=(sys.stdin.buffer, tasks, stop), daemon=True)
    reader.start()
    while (task := tasks.get()) is not None:
        run_task(task, channel, stop)


if __name__ == "__main__":
    main()
