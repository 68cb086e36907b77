"""The unit of work a runner is given: one fit of a model file, with its data, changes and settings.

These are plain frozen dataclasses, shared by everything that makes tasks (the controller,
solve, tune) and the runner that executes them. How they travel to a runner is
:mod:`metagenx.runner.protocol`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
