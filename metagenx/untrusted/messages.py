"""Requests to a sandboxed reader of untrusted files, and its answers, checked at the boundary.

The server sends one request (trusted) and reads one answer (untrusted: the reader opened a
user's file, and a bug in a parser it used could let that file speak). Answers are decoded
strictly (:func:`decode_answer`): a fixed set of types, unknown fields refused, types exact, texts
and sizes bounded. What an answer *means* is checked by whoever asked (e.g.
:func:`metagenx.untrusted.specs.checked_specs` for the jobs of a study).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from metagenx.errors import RunnerProtocolError
from metagenx.jobs import JobSpec
from metagenx.runner.protocol import MAX_NAME, MAX_TEXT, STRICT, json_line, plain_text, problem

MAX_ANSWER_BYTES = 32 * 1024 * 1024
"""Largest answer, bytes (a study of 20,000 jobs is about 10 MB)."""


@dataclass(frozen=True)
class CheckModel:
    """Is ``path`` a GenX model (``.hgx`` HDF5 with GenX's groups, or ``.gx`` zip), at most ``max_bytes``?"""

    path: str
    max_bytes: int
    type: Literal["check_model"] = field(default="check_model", repr=False)


@dataclass(frozen=True)
class ExpandStudy:
    """The jobs of study ``definition`` (its plain form) whose files are in ``base_dir``."""

    definition: dict[str, Any]
    base_dir: str
    type: Literal["expand_study"] = field(default="expand_study", repr=False)


@dataclass(frozen=True)
class ReadOrderValue:
    """The ``order`` value (``header:KEY``, ``column:N``) of data file ``path``."""

    path: str
    order: str
    options: dict[str, Any]
    type: Literal["read_order_value"] = field(default="read_order_value", repr=False)


Request = CheckModel | ExpandStudy | ReadOrderValue


@dataclass(frozen=True)
class ModelChecked:
    """The model is a GenX file of this format."""

    format: Literal["hgx", "gx"]
    type: Literal["model_checked"] = field(default="model_checked", repr=False)


@dataclass(frozen=True)
class StudyExpanded:
    """The study's jobs (to be checked by the caller before anything uses them)."""

    specs: list[JobSpec]
    type: Literal["study_expanded"] = field(default="study_expanded", repr=False)


@dataclass(frozen=True)
class OrderValueRead:
    """The file's order value and its unit when the header gives one."""

    value: float
    unit: str | None = None
    type: Literal["order_value_read"] = field(default="order_value_read", repr=False)


@dataclass(frozen=True)
class Refused:
    """The request could not be answered: ``kind`` names the error class, ``message`` says why."""

    kind: str
    message: str
    type: Literal["refused"] = field(default="refused", repr=False)


Answer = ModelChecked | StudyExpanded | OrderValueRead | Refused
MAX_UNIT = 40
"""Longest unit of an order value (``K``, ``mbar``), characters."""

REQUESTS: TypeAdapter[Request] = TypeAdapter(Annotated[Request, Field(discriminator="type")], config=STRICT)
ANSWERS: TypeAdapter[Answer] = TypeAdapter(Annotated[Answer, Field(discriminator="type")], config=STRICT)


def encode(message: Request | Answer) -> bytes:
    """One request or answer as a JSON line (type tag first; no NaN or infinity in either)."""
    return json_line(message, allow_nan=False)


def decode_request(data: bytes) -> Request:
    """A request (the reader's side: from the server, trusted, still decoded strictly)."""
    return REQUESTS.validate_json(data)


def decode_answer(data: bytes) -> Answer:
    """The reader's answer; :class:`RunnerProtocolError` when it is not a well-formed answer."""
    if len(data) > MAX_ANSWER_BYTES:
        raise RunnerProtocolError(f"the file reader answered more than {MAX_ANSWER_BYTES // 2**20} MiB")
    try:
        answer = ANSWERS.validate_json(data)
    except ValidationError as exc:
        raise RunnerProtocolError(f"the file reader sent a malformed answer: {problem(exc)}") from None
    if isinstance(answer, Refused):
        return Refused(plain_text(answer.kind, MAX_NAME), plain_text(answer.message, MAX_TEXT))
    if isinstance(answer, OrderValueRead) and answer.unit is not None:
        return OrderValueRead(answer.value, plain_text(answer.unit, MAX_UNIT) or None)
    return answer
