"""What a ``.gx`` file holds, as plain checked values: data sets, parameter grid, script, FOM.

The functions here turn the stand-ins of :mod:`metagenx.engine.gx.standins` into the
dataclasses below, checking every type on the way; they import nothing of GenX.
Text from GenX 2 files is Python 2 byte strings read as latin-1; :func:`py2_text`
restores UTF-8 text where that is what the bytes were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metagenx.engine.gx.standins import (
    DataListStandIn,
    DataSetStandIn,
    GlobalReference,
    ParametersStandIn,
    StandIn,
)
from metagenx.errors import ModelFileError

PLOT_SETTINGS: dict[str, type] = {
    "data_color": tuple,
    "data_symbol": str,
    "data_symbolsize": int,
    "data_linetype": str,
    "data_linethickness": int,
    "sim_color": tuple,
    "sim_symbol": str,
    "sim_symbolsize": int,
    "sim_linetype": str,
    "sim_linethickness": int,
}
"""Plot settings of a data set that GenX 2 and 3 share, with their types."""

ARRAYS = ("x", "y", "error", "x_raw", "y_raw", "error_raw", "y_sim", "y_fom")
COMMANDS = ("x_command", "y_command", "error_command")


@dataclass
class DatasetContent:
    """One data set as stored: arrays (in the data's own units), commands, flags and plot settings."""

    name: str
    arrays: dict[str, np.ndarray[Any, Any]]
    commands: dict[str, str]
    extra_data: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    extra_data_raw: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    extra_commands: dict[str, str] = field(default_factory=dict)
    use: bool = True
    show: bool = True
    use_error: bool = False
    cols: tuple[int, int, int] = (0, 1, 1)
    plot: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] | None = None


ParameterRow = tuple[str, float, bool, float, float, str]
"""One row of GenX's parameter grid: name, value, fit, min, max, error."""


@dataclass
class FitState:
    """The optimizer's state when the file was saved, if it had run: best values (grid order of fit rows)."""

    best_vec: np.ndarray[Any, Any]
    best_fom: float


def py2_text(value: str, generation: int) -> str:
    """Undo latin-1 decoding of a GenX 2 byte string that was UTF-8; other text is returned unchanged."""
    if generation != 2 or value.isascii():
        return value
    try:
        return value.encode("latin1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def text(value: Any, what: str, generation: int) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin1")
    if not isinstance(value, str):
        raise ModelFileError(f"{what} should be text but is {type(value).__name__}")
    return py2_text(value, generation)


def real_array(value: Any, what: str) -> np.ndarray[Any, Any]:
    """A 1-d numeric array (an empty list or ``None`` give an empty array)."""
    if value is None or (isinstance(value, list) and not value):
        return np.array([], dtype=float)
    if isinstance(value, list):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufc":
        raise ModelFileError(f"{what} should be an array of numbers but is {type(value).__name__}")
    return value


def expect(value: Any, kind: type[StandIn], what: str) -> StandIn:
    if not isinstance(value, kind):
        found = value.genx_class if isinstance(value, StandIn) else type(value).__name__
        raise ModelFileError(f"{what} should hold a GenX {kind.genx_class} but holds {found}")
    return value


def read_datasets(value: Any, generation: int, notes: list[str]) -> tuple[list[DatasetContent], int]:
    """Data sets of a pickled ``DataList`` and its name counter."""
    data_list = expect(value, DataListStandIn, "the member 'data'")
    items = data_list.get("items")
    if not isinstance(items, list) or not items:
        raise ModelFileError("the member 'data' holds no data sets")
    datasets = [read_dataset(item, index, generation, notes) for index, item in enumerate(items)]
    counter = data_list.get("_counter", len(datasets))
    return datasets, counter if isinstance(counter, int) and not isinstance(counter, bool) else len(datasets)


def read_dataset(value: Any, index: int, generation: int, notes: list[str]) -> DatasetContent:
    where = f"data set {index}"
    item = expect(value, DataSetStandIn, where)
    name = text(item.get("name", f"Data {index}"), f"{where} name", generation)
    where = f"data set {index} ({name!r})"
    arrays = {key: real_array(item.get(key), f"{where}: {key}") for key in ARRAYS}
    commands = {
        key: text(item.get(key, default), f"{where}: {key}", generation)
        for key, default in zip(COMMANDS, ("x", "y", "e"), strict=True)
    }
    content = DatasetContent(name=name, arrays=arrays, commands=commands)
    dropped: dict[str, str] = {}
    content.extra_data = extra_arrays(item.get("extra_data"), f"{where}: extra data", dropped)
    content.extra_data_raw = extra_arrays(item.get("extra_data_raw"), f"{where}: raw extra data", dropped)
    notes.extend(
        f"{where}: extra data {key!r} ({kind}) dropped: GenX 3 keeps only numeric columns with Python names"
        for key, kind in dropped.items()
    )
    content.extra_commands = {
        text(k, f"{where}: extra command name", generation): text(v, f"{where}: extra command", generation)
        for k, v in dict_or_empty(item.get("extra_commands"), f"{where}: extra commands").items()
        if k in content.extra_data_raw
    }
    for flag in ("use", "show", "use_error"):
        setattr(content, flag, flag_value(item.get(flag, getattr(content, flag)), f"{where}: {flag}"))
    cols = item.get("cols", (0, 1, 1))
    if isinstance(cols, tuple | list) and len(cols) == 3 and all(isinstance(c, int) for c in cols):
        content.cols = (int(cols[0]), int(cols[1]), int(cols[2]))
    content.plot = plot_settings(item, generation)
    meta = item.get("meta")
    if isinstance(meta, dict) and generation == 3:
        try:
            content.meta = plain_metadata(meta)
        except MetadataTooDeep:
            notes.append(f"{where}: its metadata header is nested too deeply and was left out")
    return content


MAX_METADATA_DEPTH = 32


class MetadataTooDeep(ValueError):
    """Data set metadata nested deeper than any real header (a hostile file)."""


def plain_metadata(value: Any, depth: int = 0) -> Any:
    """An ORSO-style metadata header with dict subclasses made plain, at most ``MAX_METADATA_DEPTH`` deep."""
    if depth > MAX_METADATA_DEPTH:
        raise MetadataTooDeep("metadata nested too deeply")
    if isinstance(value, dict):
        return {key: plain_metadata(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        items = [plain_metadata(item, depth + 1) for item in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def dict_or_empty(value: Any, what: str) -> dict[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ModelFileError(f"{what} should be a dict but is {type(value).__name__}")
    return value


def extra_arrays(value: Any, what: str, dropped: dict[str, str]) -> dict[str, np.ndarray[Any, Any]]:
    """Extra data columns: numeric arrays under names usable as Python identifiers.

    Anything else is left out and recorded in ``dropped`` (key → what it was).
    """
    kept: dict[str, np.ndarray[Any, Any]] = {}
    for key, item in dict_or_empty(value, what).items():
        if (
            isinstance(key, str)
            and key.isidentifier()
            and isinstance(item, np.ndarray)
            and item.dtype.kind in "biufc"
        ):
            kept[key] = item
        else:
            dropped[str(key)] = (
                f"a table of {len(item)} values" if isinstance(item, dict) else type(item).__name__
            )
    return kept


def flag_value(value: Any, what: str) -> bool:
    if isinstance(value, bool | int | np.bool_ | np.integer):
        return bool(value)
    raise ModelFileError(f"{what} should be true or false but is {value!r}")


def plot_settings(item: StandIn, generation: int) -> dict[str, Any]:
    """The plot settings that are present and of the expected type; others keep GenX 3's defaults."""
    settings: dict[str, Any] = {}
    for key, kind in PLOT_SETTINGS.items():
        value = item.get(key)
        if kind is tuple:
            if (
                isinstance(value, tuple | list)
                and len(value) == 3
                and all(isinstance(c, int | float) for c in value)
            ):
                settings[key] = tuple(float(c) for c in value)
        elif kind is int:
            if isinstance(value, int | float) and not isinstance(value, bool):
                settings[key] = int(value)
        elif isinstance(value, str):
            settings[key] = py2_text(value, generation)
    return settings


def read_parameters(value: Any, generation: int) -> list[ParameterRow]:
    """The parameter grid of a pickled ``Parameters`` (GenX 2 ``data``, GenX 3 ``_data``)."""
    grid = expect(value, ParametersStandIn, "the member 'parameters'")
    rows = grid.get("_data", grid.get("data"))
    if not isinstance(rows, list):
        raise ModelFileError("the member 'parameters' holds no parameter grid")
    return [parameter_row(row, index, generation) for index, row in enumerate(rows)]


def parameter_row(row: Any, index: int, generation: int) -> ParameterRow:
    where = f"parameter grid row {index}"
    if not isinstance(row, list | tuple) or len(row) != 6:
        raise ModelFileError(f"{where} should have 6 columns (name, value, fit, min, max, error)")
    name, value, fit, low, high, error = row
    name = text(name, f"{where}: name", generation)
    where = f"parameter grid row {index} ({name or 'empty'})"
    return (
        name,
        number(value, f"{where}: value"),
        flag_value(fit, f"{where}: fit"),
        number(low, f"{where}: min"),
        number(high, f"{where}: max"),
        text(error, f"{where}: error", generation) if error is not None else "-",
    )


def number(value: Any, what: str) -> float:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, complex):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ModelFileError(f"{what} should be a number but is {value!r}")


def read_script(value: Any, generation: int) -> str:
    """The model script, with Windows line ends made plain."""
    script = text(value, "the member 'script'", generation)
    return script.replace("\r\n", "\n").replace("\r", "\n")


def read_fom_name(value: Any) -> str:
    """The name of the figure-of-merit function the file names (``fom_funcs.log`` → ``"log"``)."""
    if isinstance(value, GlobalReference):
        return value.name
    if isinstance(value, str) and value.isidentifier():
        return value
    raise ModelFileError("the member 'fomfunction' does not name a GenX figure-of-merit function")


def read_fit_state(optimizer: StandIn | None) -> FitState | None:
    """Best values and FOM the optimizer held when the file was saved, if any."""
    if optimizer is None:
        return None
    best_vec, best_fom = optimizer.get("best_vec"), optimizer.get("best_fom")
    if not isinstance(best_vec, np.ndarray) or best_vec.dtype.kind not in "iuf" or best_vec.ndim != 1:
        return None
    if not isinstance(best_fom, int | float | np.integer | np.floating):
        return None
    return FitState(best_vec=best_vec.astype(float), best_fom=float(best_fom))


def read_fom_log(optimizer: StandIn | None) -> np.ndarray[Any, Any] | None:
    """The optimizer's FOM history (generation, best FOM) rows, if the file has it."""
    log = optimizer.get("fom_log") if optimizer is not None else None
    if isinstance(log, np.ndarray) and log.ndim == 2 and log.shape[1] == 2 and log.dtype.kind in "iuf":
        return log.astype(float)
    return None
