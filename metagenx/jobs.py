r"""What a job is: one fit (or a solve, or a tune) of a model file, from submission to runner.

One representation for every layer: a study expands into :class:`JobSpec`\ s, the store keeps
them (with their state and result) as rows, the server and the CLI submit them, and the
controller turns a stored job into the :class:`FitTask` a runner executes
(:mod:`metagenx.runner.protocol` carries it). Plain frozen dataclasses: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    """What a job runs: one fit, a solve (raced starts on the controller's executor), or a tune
    (Optuna trials of solves)."""

    FIT = "fit"
    SOLVE = "solve"
    TUNE = "tune"


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
    ``output`` is the fitted model file to write (outputs land beside it), or None;
    ``part_of`` is the stored job a coordinated job's task belongs to (a solve's start, a tune's
    fit; its owner's limits apply), None when the task is the stored job itself;
    ``time_limit`` the seconds (wall and CPU) the task may run before a sandbox's watchdog kills
    it, set by the sandboxed runner: the runner shortens its optional posterior sampling to end
    inside it, so that the fit's result is never lost to the limit.
    """

    job_id: int
    model_path: str
    settings: dict[str, Any]
    output: str | None = None
    data: list[DataAssignment] = field(default_factory=list)
    overrides: list[ParameterOverride] = field(default_factory=list)
    start_values: dict[str, float] = field(default_factory=dict)
    part_of: int | None = None
    time_limit: float | None = None

    @property
    def stored_job_id(self) -> int:
        """The stored job this task runs for (its own id, or its coordinated job's)."""
        return self.job_id if self.part_of is None else self.part_of


@dataclass(frozen=True)
class JobSpec:
    """One job: what to fit, how, and where it stands in its study.

    Attributes:
        label: short human name, unique in the study (e.g. ``"seed=3 km=0.7"``, a data file name).
        model_path: the template model file.
        settings: :class:`metagenx.engine.settings.FitSettings` as a dict; ``seed`` is always set.
            A solve's also hold its ``solve`` table, a tune's its ``tune`` table and ``models``.
        data: data files to load into the template before fitting.
        overrides: parameter-grid changes.
        sequence: position in a sequential chain (0, 1, …), or None when independent.
        depends_on: label of the job whose fitted values seed this one (sequential fits).
        axes: the study-axis values that produced this job (for tables and trend plots),
            e.g. ``{"seed": 3, "km": 0.7, "data_file": "T300.dat", "order_value": 300.0}``.
        kind: a fit, a solve or a tune (:class:`JobKind`).
        output: the fitted model file to write (a tune: a file in its report folder), when the
            submitter chooses it; None: ``<study folder>/jobs/<number>-<label>/<model>.hgx``.
    """

    label: str
    model_path: str
    settings: dict[str, Any]
    kind: JobKind = JobKind.FIT
    data: list[DataAssignment] = field(default_factory=list)
    overrides: list[ParameterOverride] = field(default_factory=list)
    sequence: int | None = None
    depends_on: str | None = None
    axes: dict[str, Any] = field(default_factory=dict)
    output: str | None = None

    @property
    def seed(self) -> int:
        return int(self.settings["seed"])
