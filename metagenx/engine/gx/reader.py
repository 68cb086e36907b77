"""Read a ``.gx`` file (GenX 2 or GenX 3) into a :class:`GxContent`, never running its pickles.

Steps: bounded zip reading (:mod:`~metagenx.engine.gx.archive`), restricted unpickling
(:mod:`~metagenx.engine.gx.unpickler`), checking and interpreting the values
(:mod:`~metagenx.engine.gx.content`, :mod:`~metagenx.engine.gx.options`) and script mending
(:mod:`~metagenx.engine.gx.mending`). Nothing of GenX is imported here.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.gx.archive import DEFAULT_LIMITS, ArchiveLimits, read_members
from metagenx.engine.gx.content import (
    DatasetContent,
    FitState,
    ParameterRow,
    read_datasets,
    read_fit_state,
    read_fom_log,
    read_fom_name,
    read_parameters,
    read_script,
)
from metagenx.engine.gx.mending import mend_script, rename_grid_names
from metagenx.engine.gx.options import optimizer_values, parse_config, section_values
from metagenx.engine.gx.standins import DiffEvStandIn
from metagenx.engine.gx.unpickler import safe_loads
from metagenx.errors import ModelFileError, UnsafeModelFileError

GENX2_NOTE = "GenX 2 file (Python 2 pickles), read safely and converted to GenX 3"


@dataclass
class GxContent:
    """Everything metagenx takes from a ``.gx`` file, checked and ready to put into GenX 3.

    ``parameters`` and ``script`` are after mending (see ``notes``); ``original_script``
    is the script as stored. ``optimizer`` and ``solver`` hold raw setting values
    keyed by GenX 3's ``DiffEvConfig`` and ``SolverParameters`` field names.
    """

    path: Path
    generation: int
    datasets: list[DatasetContent]
    counter: int
    parameters: list[ParameterRow]
    script: str
    original_script: str
    fom_name: str
    optimizer: dict[str, Any] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    config_text: str | None = None
    fit_state: FitState | None = None
    fom_log: np.ndarray[Any, Any] | None = None
    notes: list[str] = field(default_factory=list)


def read_gx(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> GxContent:
    """Read and check the ``.gx`` file at ``path``.

    Promises: no code from the file ran; every value is of the type GenX 3 expects.
    Raises :class:`~metagenx.errors.UnsafeModelFileError` when a pickle names a class
    off the allowlist, :class:`~metagenx.errors.ModelFileError` for any other damage.
    """
    members = read_members(path, limits)

    def load(member: str) -> tuple[Any, frozenset[str]]:
        return safe_loads(members[member], f"{path.name} member {member!r}")

    data, data_names = load("data")
    grid, grid_names = load("parameters")
    generation = 3 if any(name.startswith("genx.") for name in data_names | grid_names) else 2
    script_value, _ = load("script")
    fom_value, _ = load("fomfunction")
    optimizer = load("optimizer")[0] if "optimizer" in members else None
    notes: list[str] = [GENX2_NOTE] if generation == 2 else []
    try:
        datasets, counter = read_datasets(data, generation, notes)
        parameters = read_parameters(grid, generation)
        original = read_script(script_value, generation)
        fom_name = read_fom_name(fom_value)
    except UnsafeModelFileError:
        raise
    except ModelFileError as exc:
        raise ModelFileError(f"{path.name}: {exc}") from None
    config_text = decode_config(members.get("config"))
    parser, problem = parse_config(config_text)
    if problem:
        notes.append(problem)
    mended = mend_script(original, generation)
    notes.extend(mended.notes)
    names, grid_notes = rename_grid_names([row[0] for row in parameters], mended.method_renames)
    notes.extend(grid_notes)
    parameters = [(name, *row[1:]) for name, row in zip(names, parameters, strict=True)]
    fitted = optimizer if isinstance(optimizer, DiffEvStandIn) else None
    return GxContent(
        path=path,
        generation=generation,
        datasets=datasets,
        counter=counter,
        parameters=parameters,
        script=mended.script,
        original_script=original,
        fom_name=fom_name,
        optimizer=optimizer_values(parser, optimizer, generation),
        solver=solver_section(parser),
        config_text=config_text,
        fit_state=read_fit_state(fitted),
        fom_log=read_fom_log(fitted),
        notes=notes,
    )


def decode_config(raw: bytes | None) -> str | None:
    """The ``config`` member as text (UTF-8, or latin-1 for old files)."""
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin1")


def solver_section(parser: configparser.ConfigParser | None) -> dict[str, Any]:
    """Raw FOM settings of ``[solver]`` (NaN/inf handling, fit range, FOM name)."""
    return dict(section_values(parser, "solver"))
