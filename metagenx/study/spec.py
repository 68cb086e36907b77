"""A study expanded into jobs: what each fit runs, before it is stored or scheduled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from metagenx.tasks import DataAssignment, ParameterOverride


@dataclass(frozen=True)
class JobSpec:
    """One fit of a study.

    Attributes:
        label: short human name, unique in the study (e.g. ``"seed=3 km=0.7"``, a data file name).
        model_path: the template model file.
        settings: :class:`metagenx.engine.settings.FitSettings` as a dict; ``seed`` is always set.
        data: data files to load into the template before fitting.
        overrides: parameter-grid changes.
        sequence: position in a sequential chain (0, 1, …), or None when independent.
        depends_on: label of the job whose fitted values seed this one (sequential fits).
        axes: the study-axis values that produced this job (for tables and trend plots),
            e.g. ``{"seed": 3, "km": 0.7, "data_file": "T300.dat", "order_value": 300.0}``.
    """

    label: str
    model_path: str
    settings: dict[str, Any]
    data: list[DataAssignment] = field(default_factory=list)
    overrides: list[ParameterOverride] = field(default_factory=list)
    sequence: int | None = None
    depends_on: str | None = None
    axes: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return int(self.settings["seed"])
