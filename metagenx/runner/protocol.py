"""Messages between a controller-side supervisor and a runner child, one JSON object per line.

Parent → child: ``{"type": "task", ...FitTask}``, ``{"type": "stop"}`` (stop the current fit
after this generation, keep its best result), ``{"type": "exit"}``.

Child → parent: ``ready`` once at start, then per task ``started``, ``progress`` (every
generation, at most ``PROGRESS_INTERVAL`` s apart), and exactly one of ``result`` or
``error``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

PROGRESS_INTERVAL = 0.25
"""Seconds between progress messages while a fit runs (the first and last are always sent)."""


@dataclass(frozen=True)
class DataAssignment:
    """Load ``path`` into data set ``dataset`` (index or name) of the template with a GenX loader."""

    dataset: int | str
    path: str
    loader: str = "auto"
    loader_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParameterOverride:
    """Change one row of the template's parameter grid before fitting (None: keep)."""

    name: str
    value: float | None = None
    fit: bool | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class FitTask:
    """One fit for a runner: the model file, its changes, the settings and where outputs go.

    ``settings`` is a :class:`metagenx.engine.settings.FitSettings` as a dict;
    ``start_values`` seeds named parameters (sequential fits pass the previous result);
    ``output`` is the fitted model file to write (outputs land beside it), or None.
    """

    job_id: int
    model_path: str
    settings: dict[str, Any]
    output: str | None = None
    data: list[DataAssignment] = field(default_factory=list)
    overrides: list[ParameterOverride] = field(default_factory=list)
    start_values: dict[str, float] = field(default_factory=dict)

    def to_message(self) -> dict[str, Any]:
        return {"type": "task", **dataclasses.asdict(self)}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> FitTask:
        values = {k: v for k, v in message.items() if k != "type"}
        values["data"] = [DataAssignment(**d) for d in values.get("data", [])]
        values["overrides"] = [ParameterOverride(**o) for o in values.get("overrides", [])]
        return cls(**values)


def encode(message: dict[str, Any]) -> bytes:
    """One message as a JSON line (non-finite floats become null)."""
    from metagenx.engine.result import finite_or_none

    return (json.dumps(finite_or_none(message), allow_nan=False, separators=(",", ":")) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any]:
    message = json.loads(line)
    if not isinstance(message, dict) or "type" not in message:
        raise ValueError(f"not a runner message: {line!r:.200}")
    return message
