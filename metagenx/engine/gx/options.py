"""Optimizer and FOM settings of a ``.gx`` file, from its ``config`` INI and its pickled optimizer.

GenX 2 kept the solver settings in the ``[solver]`` section of the ``config`` member
(the GUI read them from there) and mirrored them as attributes of the pickled
``DiffEv``; GenX 3 pickles a ``DiffEvConfig`` dataclass as ``DiffEv.opt`` and also
writes the ``[solver]`` section. The values are returned raw, keyed by the field
names of GenX 3's ``DiffEvConfig`` and ``SolverParameters``; :mod:`metagenx.engine.gx.mapping`
converts them to the fields' types.
"""

from __future__ import annotations

import configparser
from typing import Any

from metagenx.engine.gx.standins import MUTATION_SCHEMES, DiffEvConfigStandIn, DiffEvStandIn, MethodReference

GENX2_OPTIMIZER_ATTRIBUTES = {
    "km": "km",
    "kr": "kr",
    "use_pop_mult": "use_pop_mult",
    "pop_mult": "pop_mult",
    "pop_size": "pop_size",
    "use_max_generations": "use_max_generations",
    "max_generations": "max_generations",
    "max_generation_mult": "max_generation_mult",
    "use_start_guess": "use_start_guess",
    "use_boundaries": "use_boundaries",
    "use_autosave": "use_autosave",
    "autosave_interval": "autosave_interval",
    "max_log": "max_log_elements",
    "use_parallel_processing": "use_parallel_processing",
    "processes": "parallel_processes",
    "chunksize": "parallel_chunksize",
    "fom_allowed_dis": "allowed_fom_discrepancy",
}
"""Attributes of GenX 2's pickled ``DiffEv`` → fields of GenX 3's ``DiffEvConfig``."""


def parse_config(text: str | None) -> tuple[configparser.ConfigParser | None, str | None]:
    """Parse the ``config`` member; returns the parser, or ``None`` and the reason it is unreadable."""
    if text is None:
        return None, None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        return None, f"its config section is unreadable ({type(exc).__name__}); GenX defaults used for it"
    return parser, None


def section_values(parser: configparser.ConfigParser | None, section: str) -> dict[str, str]:
    """Raw INI values of ``section`` keyed as GenX 3 fields (option ``pop size`` → ``pop_size``)."""
    if parser is None or not parser.has_section(section):
        return {}
    return {option.replace(" ", "_"): parser.get(section, option) for option in parser.options(section)}


def pickled_optimizer_values(optimizer: Any, generation: int) -> dict[str, Any]:
    """Optimizer settings held by the pickled ``DiffEv`` (GenX 3: its ``opt``; GenX 2: its attributes)."""
    if not isinstance(optimizer, DiffEvStandIn):
        return {}
    if generation == 3:
        opt = optimizer.get("opt")
        return dict(opt.state) if isinstance(opt, DiffEvConfigStandIn) else {}
    values: dict[str, Any] = {}
    for attribute, name in GENX2_OPTIMIZER_ATTRIBUTES.items():
        value = optimizer.get(attribute)
        if isinstance(value, bool | int | float | str) and not (name == "parallel_processes" and value == 0):
            values[name] = value
    trial = optimizer.get("create_trial")  # GenX 2 kept the chosen method itself
    if isinstance(trial, MethodReference) and trial.name in MUTATION_SCHEMES:
        values["create_trial"] = trial.name
    return values


def optimizer_values(
    parser: configparser.ConfigParser | None, optimizer: Any, generation: int
) -> dict[str, Any]:
    """Raw optimizer settings keyed as ``DiffEvConfig`` fields, in GenX's own order of precedence.

    GenX 3 files: the pickled ``opt`` first, then ``[solver]``. GenX 2 files: ``[solver]``
    first (what the GenX 2 GUI used), then the pickled attributes. Settings found in
    neither are absent (GenX 3's defaults apply); keys GenX 3 does not know are
    ignored by the mapping.
    """
    from_config = section_values(parser, "solver")
    from_pickle = pickled_optimizer_values(optimizer, generation)
    if generation == 3:
        return {**from_config, **from_pickle}
    return {**from_pickle, **from_config}
