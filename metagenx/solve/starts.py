"""The pieces a solve works with: the model and its changes, a running start, progress, errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from metagenx.controller.coordinated import CoordinationAbandoned
from metagenx.errors import MetagenxError
from metagenx.jobs import DataAssignment, ParameterOverride

FATAL_KINDS = ("ModelFileError", "ModelScriptError", "ModelContentError", "SettingsError", "DataFileError")
"""Error kinds that every start would hit alike: the solve fails at once with the message."""


class SolveError(MetagenxError):
    """A solve could not produce any fit (the model cannot run, or every start failed)."""


class SolveAbandoned(SolveError, CoordinationAbandoned):
    """A solve was abandoned by its owner (e.g. a server shutting down); it produced nothing."""


@dataclass(frozen=True)
class SolveProgress:
    """State of a running solve, for live displays. ``elapsed`` in s."""

    elapsed: float
    best_fom: float
    running: int
    ended: int
    agreeing: int
    confidence: float
    evaluations: int = 0
    """FOM evaluations of every start so far."""


@dataclass
class Model:
    """The model a solve works on, and the changes every start applies to it."""

    path: str
    data: Sequence[DataAssignment] = ()
    overrides: Sequence[ParameterOverride] = ()
    start_values: dict[str, float] = field(default_factory=dict)


@dataclass
class Running:
    start_id: int
    job_id: int
    seed: int
    launched: float
    stop_reason: str | None = None
    scatter: bool = False


def is_scatter(start_id: int, fraction: float) -> bool:
    """Whether start ``start_id`` is a scatter start: spread evenly, a ``fraction`` of all starts."""
    return math.floor((start_id + 1) * fraction) > math.floor(start_id * fraction)
