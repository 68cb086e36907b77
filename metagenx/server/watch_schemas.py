"""What the watch routes accept and send (see :mod:`metagenx.server.routes.watches`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from metagenx.server.schemas import Progress


class WatchCreate(BaseModel):
    """A watch: how every data file pushed to it is fitted (the ``definition`` form field, JSON).

    ``order`` places the files along the trend plots' x axis: ``name`` (arrival order),
    ``header:<key>`` (a number in the file header, e.g. ``header:temperature``) or
    ``column:<name or index>`` (a column's mean).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Unique within the project.")
    project: str = "default"
    dataset: int | str = Field(0, description="The template's data set (index or name) each file replaces.")
    sequential: bool = Field(False, description="Start each fit from the previous file's fitted values.")
    loader: str = Field("auto", description="GenX data loader (auto, default, orso, resolution, …).")
    loader_options: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict, description='Fit settings, e.g. {"seed": 1}.')
    order: str = "name"
    targets: dict[str, float] = Field(
        default_factory=dict,
        description='σ wanted per parameter, in its unit, e.g. {"SiO.setD": 2}: each file gets a verdict '
        "(reached, count about N× longer, not reachable with this Q range).",
    )


class WatchPublic(BaseModel):
    """A watch (a study of kind ``watch``) with its job counts by state and the URLs to follow it."""

    id: int
    name: str
    owner: str
    project: str
    project_id: int
    state: str
    created_at: datetime
    template: str = Field(description="File name of the template model.")
    dataset: int | str
    sequential: bool
    loader: str
    loader_options: dict[str, Any]
    settings: dict[str, Any]
    order: str
    targets: dict[str, float] = Field(default_factory=dict, description="σ wanted per parameter.")
    files: int = Field(description="Jobs: one per distinct file content pushed.")
    counts: dict[str, int] = Field(description="Jobs by state.")
    links: dict[str, str] = Field(description="series, files (POST), table (CSV), plot (PNG), events (SSE).")
    created: bool | None = Field(None, description="On creation: false when the watch existed (idempotent).")


class WatchList(BaseModel):
    items: list[WatchPublic]
    total: int


class SeriesRowPublic(BaseModel):
    """One file of the series: its job, state, FOM and fitted values (once fitted), or why it failed."""

    job_id: int
    label: str = Field(description="The file's name as pushed.")
    file_index: int | None = Field(description="Arrival order, from 0.")
    sha256: str | None
    order_value: float | None = Field(
        description="The file's header or column value (see the watch's order)."
    )
    state: str
    fom: float | None
    parameters: dict[str, float | None] = Field(description="Fitted value of each parameter.")
    error: str | None = Field(description="Why the fit failed (the data loader's reason) or was cancelled.")
    seeded_from: int | None = Field(
        description="Sequential watches: the job whose fitted values it starts from."
    )
    sigma: dict[str, float | None] = Field(
        default_factory=dict,
        description="The advisor's predicted σ of each parameter (Fisher information at the optimum, "
        "errors taken as counting errors); empty without advice.",
    )
    verdicts: dict[str, str] = Field(default_factory=dict, description="The verdict on each target.")
    advice: str = Field("", description="A short line of advice for this file.")
    progress: Progress | None = Field(None, description="While running: the latest report.")


class WatchSeries(WatchPublic):
    """The watch and its series: one row per file in arrival order."""

    parameters: list[str] = Field(description="Names of the fitted parameters (columns of the rows).")
    order_label: str | None = Field(description="x-axis label of the trends (None: file order).")
    rows: list[SeriesRowPublic]


class WatchFilePublic(BaseModel):
    """A pushed data file: its job, new (``created``) or the one that already fits these bytes."""

    job_id: int
    created: bool
    label: str
    sha256: str
    state: str
    file_index: int | None
    order_value: float | None
    order_problem: str | None = Field(None, description="Why the order value could not be read, if so.")
