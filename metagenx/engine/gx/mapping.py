"""Put a :class:`~metagenx.engine.gx.reader.GxContent` into a GenX 3 ``ModelController``.

The controller ends up as GenX 3's own ``load_file`` would leave it for a file it
could read: data sets, parameter grid, script, FOM function, FOM and optimizer
settings, FOM history, the file's ``config`` loaded into GenX's (process-wide)
config, and the model's file name. Settings the file does not have take GenX 3's
defaults, not whatever an earlier file left in GenX's global config.
"""

from __future__ import annotations

import configparser
import dataclasses
from typing import Any

import numpy as np

from metagenx.engine.gx.content import DatasetContent
from metagenx.engine.gx.reader import GxContent
from metagenx.engine.runtime import genx
from metagenx.errors import ModelFileError

BOOLEAN_WORDS = configparser.ConfigParser.BOOLEAN_STATES


def apply_content(controller: Any, content: GxContent) -> list[str]:
    """Fill ``controller`` from ``content``; returns notes on settings that could not be used."""
    modules = genx()
    from genx.data import DataSet

    notes: list[str] = []
    model = controller.get_model()
    model.data.items = [make_dataset(DataSet, item) for item in content.datasets]
    model.data._counter = content.counter
    model.parameters.data = [list(row) for row in content.parameters]
    model.set_script(content.script)
    solver = {k: v for k, v in content.solver.items() if k != "figure_of_merit"}
    apply_settings(model.solver_parameters, solver, "FOM setting", notes)
    set_fom(model, content, modules.fom_funcs.func_names)  # after the reset of solver_parameters
    model.create_fom_mask_func()
    optimizer = controller.optimizer
    apply_settings(optimizer.opt, content.optimizer, "optimizer setting", notes)
    optimizer.set_create_trial(optimizer.opt.create_trial)
    if content.fom_log is not None:
        optimizer.fom_log = content.fom_log
    if content.config_text is not None:
        try:
            modules.config.config.load_string(content.config_text)
        except Exception as exc:  # GenX's stricter INI parser (GenxIOError); the values were taken above
            notes.append(f"GenX could not take the file's GUI settings ({type(exc).__name__}); defaults used")
    model.filename = str(content.path.resolve())
    model.saved = True
    model.reset()
    controller.model_store = []
    controller.history_clear()
    return notes


def set_fom(model: Any, content: GxContent, known: list[str]) -> None:
    if content.fom_name not in known:
        raise ModelFileError(
            f"{content.path.name} uses the figure of merit {content.fom_name!r}, which GenX 3 does not have "
            f"(it has: {', '.join(known)})"
        )
    model.fomfunction = content.fom_name


def make_dataset(dataset_class: type, item: DatasetContent) -> Any:
    """A GenX 3 ``DataSet`` holding exactly the stored arrays (GenX's commands are not re-run)."""
    dataset = dataset_class(name=item.name)
    for key, array in item.arrays.items():
        setattr(dataset, key, array)
    for key, command in item.commands.items():
        setattr(dataset, key, command)
    dataset.extra_data = dict(item.extra_data)
    dataset.extra_data_raw = dict(item.extra_data_raw)
    dataset.extra_commands = dict(item.extra_commands)
    dataset.use = item.use
    dataset.show = item.show
    dataset.use_error = item.use_error
    dataset.cols = item.cols
    for key, value in item.plot.items():
        setattr(dataset, key, value)
    if item.meta is not None:
        dataset.meta = item.meta
    return dataset


def apply_settings(target: Any, values: dict[str, Any], what: str, notes: list[str]) -> None:
    """Reset the config dataclass ``target`` to its defaults, then set each known field from ``values``."""
    for spec in dataclasses.fields(target):
        default = spec.default if spec.default is not dataclasses.MISSING else getattr(target, spec.name)
        setattr(target, spec.name, default)
        if spec.name not in values:
            continue
        raw = values[spec.name]
        try:
            value = coerce(raw, spec.type)
            selection = spec.metadata.get("genx", {}).get("selection")
            if selection is not None and value not in selection:
                raise ValueError(f"not one of {', '.join(map(str, selection))}")
        except (TypeError, ValueError):
            notes.append(
                f"{what} {spec.name} = {raw!r} is not valid in GenX 3; its default {default!r} is used"
            )
            continue
        setattr(target, spec.name, value)


def coerce(value: Any, kind: Any) -> Any:
    """``value`` (INI text or a pickled value) as the field type ``kind``; ValueError if it is not one."""
    if isinstance(value, np.generic):
        value = value.item()
    if kind is bool:
        if isinstance(value, bool | int):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in BOOLEAN_WORDS:
            return BOOLEAN_WORDS[value.strip().lower()]
    elif kind is int:
        number = float(value) if isinstance(value, str) else value
        if isinstance(number, int | float) and not isinstance(number, bool) and float(number).is_integer():
            return int(number)
    elif kind is float:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return float(value)
    elif kind is str and isinstance(value, str):
        return value.strip()
    raise ValueError(f"{value!r} is not a {getattr(kind, '__name__', kind)}")
