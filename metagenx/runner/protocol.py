"""The runner protocol: one JSON object per line, typed and checked at the boundary.

Parent → child (trusted): :class:`Run` (a :class:`~metagenx.jobs.FitTask`), :class:`Stop` (stop
the current fit after this generation, keep its best result), :class:`Warm` (load the plotting
while idle) and :class:`Exit`.

Child → parent (untrusted: the model's script runs in the child and can write any bytes on any
descriptor it holds): exactly the :data:`~metagenx.events.RunnerMessage` types, ``ready`` once at
start, then per task ``started``, ``progress`` and ``snapshot`` reports, and one ``result`` or
``error``.
:func:`decode_runner_message` refuses, with :class:`~metagenx.errors.RunnerProtocolError`, a line
longer than :data:`MAX_LINE_BYTES`, anything that is not one of those types, unknown or missing
fields, wrong types, numbers out of range or not finite where they must be, and texts over
:data:`MAX_TEXT`. Binding a message to the task it may speak for is the reader's job
(:class:`~metagenx.runner.process.RunnerProcess`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import IO, Annotated, Any, Literal, TypeVar

from pydantic import Field, TypeAdapter, ValidationError

from metagenx.engine.posterior import SamplingStatus
from metagenx.engine.result import X_AXES, FitResult
from metagenx.errors import RunnerProtocolError
from metagenx.events import (
    Crashed,
    CurrentCurve,
    Failed,
    Finished,
    Progress,
    Ready,
    RunnerMessage,
    Snapshot,
    Started,
    Violation,
)
from metagenx.jobs import FitTask

PROGRESS_INTERVAL = 0.25
"""Seconds between progress messages while a fit runs (the first and last are always sent)."""
MAX_LINE_BYTES = 8 * 1024 * 1024
"""Longest message line, bytes (a result with a few data sets of thousands of points is ~1 MB)."""
MAX_TEXT = 4000
"""Longest free text in a message (an error message, a reason), characters."""
MAX_NAME = 200
"""Longest name (a parameter, an error kind, a version), characters."""
MAX_ID = 2**62
"""Job ids, pids and counters are whole numbers in [0, MAX_ID)."""
MAX_ITEMS = 100_000
"""Most parameters or data sets in one result."""
SNAPSHOT_INTERVAL = 2.5
"""Seconds between snapshots (the current best parameters and simulation) while a fit runs."""
MAX_SNAPSHOT_PARAMETERS = 2000
"""Most fitted parameters in one snapshot."""
MAX_SNAPSHOT_DATASETS = 100
"""Most data sets in one snapshot."""
MAX_SNAPSHOT_POINTS = 50_000
"""Most points, all data sets together, in one snapshot (a runner thins longer data to fit)."""

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters (terminal escapes among them) that no message text may carry; tab and newline may."""


@dataclass(frozen=True)
class Run:
    """Run ``task`` (the runner takes one at a time)."""

    task: FitTask
    type: Literal["task"] = field(default="task", repr=False)


@dataclass(frozen=True)
class Stop:
    """Stop the current fit after its generation; its best result still comes back."""

    type: Literal["stop"] = field(default="stop", repr=False)


@dataclass(frozen=True)
class Warm:
    """Load what the first outputs need (plots) while idle; a task sent after it waits for it."""

    type: Literal["warm"] = field(default="warm", repr=False)


@dataclass(frozen=True)
class Exit:
    """End the runner."""

    type: Literal["exit"] = field(default="exit", repr=False)


Command = Run | Stop | Warm | Exit
"""Everything a parent sends to its runner."""

T = TypeVar("T")
STRICT: Any = {"extra": "forbid", "strict": True}
"""Unknown fields are refused and types must be exact (JSON integers still count as floats)."""

RUNNER_MESSAGES: TypeAdapter[RunnerMessage] = TypeAdapter(
    Annotated[RunnerMessage, Field(discriminator="type")], config=STRICT
)
COMMANDS: TypeAdapter[Command] = TypeAdapter(Annotated[Command, Field(discriminator="type")], config=STRICT)
WorkerEnd = Finished | Failed | Crashed | Violation
"""How a task ended on a remote worker (its supervisor adds ``crashed`` and ``violation``)."""
WORKER_ENDS: TypeAdapter[WorkerEnd] = TypeAdapter(
    Annotated[WorkerEnd, Field(discriminator="type")], config=STRICT
)


def encode(message: RunnerMessage | Command | WorkerEnd) -> bytes:
    """One message as a JSON line; the ``type`` tag first, non-finite floats as ``NaN``/``Infinity``."""
    return json_line(message)


def json_line(message: Any, *, allow_nan: bool = True) -> bytes:
    """A tagged dataclass (its ``type`` field first) as one line of compact JSON."""
    values = dataclasses.asdict(message)
    ordered = {"type": values.pop("type"), **values}
    return (json.dumps(ordered, separators=(",", ":"), allow_nan=allow_nan) + "\n").encode()


def parse_line(line: bytes, adapter: TypeAdapter[T], who: str) -> T:
    """Decode one line with ``adapter`` (a union told apart by the ``type`` tag), strictly."""
    if len(line) > MAX_LINE_BYTES:
        raise RunnerProtocolError(f"{who} sent a message longer than {MAX_LINE_BYTES // 2**20} MiB")
    try:
        return adapter.validate_json(line)
    except ValidationError as exc:
        raise RunnerProtocolError(f"{who} sent a malformed message: {problem(exc)}") from None


def problem(exc: ValidationError) -> str:
    """The first problem pydantic found, as ``type.field: what`` (input values are not quoted)."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return plain_text(f"{where or 'message'}: {first['msg']}", MAX_NAME)


def decode_runner_message(line: bytes) -> RunnerMessage:
    """A runner's message, checked field by field; :class:`RunnerProtocolError` says what is wrong."""
    message = parse_line(line, RUNNER_MESSAGES, "the runner")
    check(message)
    return message


def decode_worker_end(line: bytes) -> WorkerEnd:
    """How a remote worker says a task ended, checked like a runner's own messages."""
    end = parse_line(line, WORKER_ENDS, "the worker")
    match end:
        case Crashed(job_id=job_id, reason=reason) | Violation(job_id=job_id, reason=reason):
            whole("job_id", job_id)
            text("reason", reason, MAX_TEXT)
        case _:
            check(end)
    return end


def decode_command(line: bytes) -> Command:
    """A parent's command (the runner side)."""
    return parse_line(line, COMMANDS, "the controller")


def read_line(stream: IO[bytes]) -> bytes | None:
    """The next line of ``stream`` (None at its end); a line over :data:`MAX_LINE_BYTES` is refused
    without reading it whole (the stream is then out of step: drop the runner)."""
    line = stream.readline(MAX_LINE_BYTES + 1)
    if not line:
        return None
    if not line.endswith(b"\n"):
        if len(line) > MAX_LINE_BYTES:
            raise RunnerProtocolError(f"the runner sent a message longer than {MAX_LINE_BYTES // 2**20} MiB")
        return None  # a last line cut short: the runner ended while writing it
    return line


# -- checks beyond types ------------------------------------------------------------------------
def check(message: RunnerMessage) -> None:
    """Ranges, finiteness and text bounds of a runner message (types are checked by the decoder)."""
    match message:
        case Ready(pid=pid, genx_version=version):
            whole("pid", pid)
            text("genx_version", version, MAX_NAME)
        case Started(job_id=job_id, pid=pid, worker=worker):
            whole("job_id", job_id)
            whole("pid", pid)
            if worker is not None:
                raise RunnerProtocolError("the runner sent a started message naming a worker")
        case Progress():
            whole("job_id", message.job_id)
            whole("generation", message.generation)
            whole("evaluations", message.evaluations)
            seconds("elapsed", message.elapsed)
            if message.best_fom is not None and math.isnan(message.best_fom):
                raise RunnerProtocolError("the runner sent a progress message with a best FOM that is NaN")
            if message.solve is not None:
                raise RunnerProtocolError("the runner sent a progress message with a solve's status")
            if message.sampling is not None:
                check_sampling(message.sampling)
        case Snapshot():
            check_snapshot(message)
        case Finished(job_id=job_id, result=result, stop_reason=stop_reason):
            whole("job_id", job_id)
            if stop_reason is not None:
                raise RunnerProtocolError("the runner sent a result with a stop reason of its own")
            check_result(result)
            if "posterior" in result.extra:
                check_posterior(result.extra["posterior"])
        case Failed(job_id=job_id, kind=kind, message=text_):
            whole("job_id", job_id)
            text("kind", kind, MAX_NAME)
            text("message", text_, MAX_TEXT)


def check_sampling(sampling: SamplingStatus) -> None:
    """A sampling status's counts: whole, and no more draws than its target."""
    for name in ("draws", "target", "generation", "burn"):
        whole(f"sampling.{name}", getattr(sampling, name))
    if sampling.draws > sampling.target:
        raise RunnerProtocolError("the runner sent a sampling status with more draws than its target")


def check_posterior(record: object) -> None:
    """A posterior record (``result.extra["posterior"]``) has the shape the sampler writes."""
    from metagenx.engine.posterior import check_record

    try:
        check_record(record, MAX_ITEMS)
    except ValueError as exc:
        raise RunnerProtocolError(f"the runner sent a malformed posterior record: {exc}") from None


def check_result(result: FitResult) -> None:
    """A fit result's ranges: counts whole, values finite, names and texts bounded."""
    for name in ("generations", "evaluations", "seed"):
        whole(f"result.{name}", getattr(result, name))
    seconds("result.wall_time", result.wall_time)
    for name in ("fom_name", "genx_version", "metagenx_version"):
        bounded(f"result.{name}", getattr(result, name), MAX_NAME)
    bounded("result.model_path", result.model_path, MAX_TEXT)
    if result.error_message is not None:
        bounded("result.error_message", result.error_message, MAX_TEXT)
    if len(result.parameters) > MAX_ITEMS or len(result.datasets) > MAX_ITEMS:
        raise RunnerProtocolError("the runner sent a result with too many parameters or data sets")
    for parameter in result.parameters:
        bounded("result parameter name", parameter.name, MAX_NAME)
        if not math.isfinite(parameter.value):
            raise RunnerProtocolError(f"the runner sent a non-finite value for parameter {parameter.name!r}")
        if any(math.isnan(v) for v in (parameter.start, parameter.min, parameter.max)):
            raise RunnerProtocolError(f"the runner sent NaN bounds or start for parameter {parameter.name!r}")
    if "advisor" in result.extra:
        from metagenx.engine.advice import Invalid, check_record

        try:
            check_record(result.extra["advisor"])
        except Invalid as exc:
            raise RunnerProtocolError(f"the runner sent a malformed advisor record: {exc}") from None
    for curve in result.datasets:
        bounded("result data set name", curve.name, MAX_NAME)
        if curve.x_axis not in X_AXES:
            raise RunnerProtocolError(f"the runner sent data set {curve.name!r} with an unknown x axis")
        if not len(curve.x) == len(curve.y) == len(curve.error) == len(curve.simulated):
            raise RunnerProtocolError(
                f"the runner sent data set {curve.name!r} with columns of unequal length"
            )


def check_snapshot(snapshot: Snapshot) -> None:
    """A snapshot's bounds: at most :data:`MAX_SNAPSHOT_PARAMETERS` parameters with distinct, short,
    plain names and finite values; at most :data:`MAX_SNAPSHOT_DATASETS` data sets of columns of equal
    length, :data:`MAX_SNAPSHOT_POINTS` points in all, every number finite (None for a missing one)."""
    whole("job_id", snapshot.job_id)
    whole("generation", snapshot.generation)
    if snapshot.best_fom is not None and not math.isfinite(snapshot.best_fom):
        raise RunnerProtocolError("the runner sent a snapshot with a best FOM that is not finite")
    if len(snapshot.parameters) > MAX_SNAPSHOT_PARAMETERS:
        raise RunnerProtocolError(
            f"the runner sent a snapshot of more than {MAX_SNAPSHOT_PARAMETERS} parameters"
        )
    for parameter in snapshot.parameters:
        text("snapshot parameter name", parameter.name, MAX_NAME)
        if not math.isfinite(parameter.value):
            raise RunnerProtocolError(f"the runner sent a non-finite value for parameter {parameter.name!r}")
    if len({p.name for p in snapshot.parameters}) != len(snapshot.parameters):
        raise RunnerProtocolError("the runner sent a snapshot that names a parameter twice")
    if len(snapshot.datasets) > MAX_SNAPSHOT_DATASETS:
        raise RunnerProtocolError(
            f"the runner sent a snapshot of more than {MAX_SNAPSHOT_DATASETS} data sets"
        )
    points = 0
    for curve in snapshot.datasets:
        points += check_curve(curve)
        if points > MAX_SNAPSHOT_POINTS:
            raise RunnerProtocolError(f"the runner sent a snapshot of more than {MAX_SNAPSHOT_POINTS} points")


def check_curve(curve: CurrentCurve) -> int:
    """The number of points of one snapshot data set, whose columns are of equal length and finite."""
    text("snapshot data set name", curve.name, MAX_NAME)
    if curve.x_axis not in X_AXES:
        raise RunnerProtocolError(f"the runner sent data set {curve.name!r} with an unknown x axis")
    columns = (curve.x, curve.y, curve.error, curve.simulated)
    if len({len(column) for column in columns}) != 1:
        raise RunnerProtocolError(f"the runner sent data set {curve.name!r} with columns of unequal length")
    if len(curve.x) > MAX_SNAPSHOT_POINTS:  # before looking at the values
        raise RunnerProtocolError(f"the runner sent a snapshot of more than {MAX_SNAPSHOT_POINTS} points")
    if not all(v is None or math.isfinite(v) for column in columns for v in column):
        raise RunnerProtocolError(f"the runner sent data set {curve.name!r} with a number that is not finite")
    return len(curve.x)


def whole(name: str, value: int) -> None:
    if not 0 <= value < MAX_ID:
        raise RunnerProtocolError(f"the runner sent {name} = {value}, outside [0, 2^62)")


def seconds(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise RunnerProtocolError(f"the runner sent {name} that is not a finite number of seconds")


def bounded(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise RunnerProtocolError(f"the runner sent a {name} longer than {limit} characters")


def text(name: str, value: str, limit: int) -> None:
    """A short text shown as it is (an error message): bounded, and free of control characters."""
    bounded(name, value, limit)
    if CONTROL.search(value):
        raise RunnerProtocolError(f"the runner sent a {name} with control characters")


def plain_text(value: str, limit: int = MAX_TEXT) -> str:
    """``value`` cut to ``limit`` characters with control characters replaced (for reasons and log lines
    that come from a runner's stderr)."""
    cleaned = CONTROL.sub("?", value)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
