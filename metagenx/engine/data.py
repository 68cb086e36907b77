"""Load measured data files into a model's data sets with GenX's own data-loader plugins, headless.

GenX's loaders (``genx.plugins.data_loaders``) were written for the GUI: they report a
failure in a dialog and carry on. Here every failure becomes a :class:`DataFileError`
naming the file and carrying the loader's own reason, and the model is left unchanged.

Loader names are GenX's module names: ``default`` (plain columns), ``resolution``
(columns with a resolution column), ``orso`` (ORSO ``.ort``/``.orb``), ``auto`` (picks a
loader by extension and falls back to plain columns), and the instrument formats
(``amor``, ``d17_cosmos``, ``sns_mr``, ``xrdml``, ``rigaku``, …); those needing wx fail
with a clear message. Header and column values of a file (for ordering a batch) are read
by :func:`read_header_value` and :func:`column_value`.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import logging
import math
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.model import GenxModel, last_line
from metagenx.engine.runtime import genx
from metagenx.errors import DataFileError, ModelContentError

log = logging.getLogger(__name__)

RESERVED_OPTIONS = ("commands", "name", "data_id")
"""Options handled here, not by the loader: ``commands`` ("auto" | "template" | "loader"),
``name`` (data set name; ``{stem}``/``{file}`` expand), ``data_id`` (entry of a multi-set file)."""
COMMAND_MODES = ("auto", "template", "loader")
DEFAULT_COMMANDS = {"x_command": "x", "y_command": "y", "error_command": "e"}
OPTION_ALIASES = {"auto": {"x_col": "q_col", "y_col": "I_col", "e_col": "eI_col"}}
"""``auto`` names its plain-column options like ``resolution``; accept the ``default`` names too."""
DIALOGS = ("ShowWarningDialog", "ShowErrorDialog", "ShowInfoDialog")
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
COMMENT_CHARS = "#%!;"


def loader_names() -> list[str]:
    """Names of GenX's data-loader plugins, found without importing them."""
    import importlib.util

    spec = importlib.util.find_spec("genx")
    if spec is None or spec.origin is None:  # pragma: no cover - genx3server is a dependency
        return []
    folder = Path(spec.origin).parent / "plugins" / "data_loaders"
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def make_loader(name: str, options: Mapping[str, Any] | None = None) -> Any:
    """An instance of GenX's loader plugin ``name`` (parent None) with ``options`` set on it.

    Raises :class:`DataFileError` for an unknown loader, one that cannot run without
    wx, or an option the loader does not have.
    """
    genx()
    if name not in loader_names():
        raise DataFileError(f"unknown data loader {name!r}; GenX offers: {', '.join(loader_names())}")
    try:
        module = importlib.import_module(f"genx.plugins.data_loaders.{name}")
        plugin = module.Plugin(None)
    except ImportError as exc:
        raise DataFileError(f"data loader {name!r} cannot run headless (it needs {exc.name or exc})") from exc
    known = plugin_options(plugin)
    for key, value in (options or {}).items():
        attribute = OPTION_ALIASES.get(name, {}).get(key, key)
        if attribute not in known:
            raise DataFileError(
                f"data loader {name!r} has no option {key!r}; its options are: "
                f"{', '.join([*sorted(known), *OPTION_ALIASES.get(name, {}), *RESERVED_OPTIONS])}"
            )
        current = known[attribute]
        if isinstance(current, int) and not isinstance(current, bool) and not isinstance(value, int):
            raise DataFileError(f"data loader option {key} must be an integer, got {value!r}")
        setattr(plugin, attribute, value)
    return plugin


def plugin_options(plugin: Any) -> dict[str, Any]:
    """The settings of a loader instance (column numbers, comment, delimiter, …) and their values."""
    simple = {k: v for k, v in vars(plugin).items() if isinstance(v, int | float | str) or k == "delimiter"}
    return {
        k: v for k, v in simple.items() if not k.startswith("_") and k not in ("parent", "data", "wildcard")
    }


def load_into_dataset(
    model: GenxModel,
    dataset: int | str,
    path: str | os.PathLike[str],
    loader: str = "auto",
    options: dict[str, Any] | None = None,
) -> None:
    """Replace the points of data set ``dataset`` (index or name) of ``model`` by those of ``path``.

    The data set keeps its name, ``use`` flags and plot styles (``options["name"]``
    renames it). Its x/y/error are derived by running its commands: with
    ``commands = "auto"`` (default) the template's own commands when they apply to the new
    file, else the loader's; ``"template"`` insists on the template's; ``"loader"`` is GenX's
    GUI behaviour. Raises :class:`DataFileError` (naming the file, with the loader's
    reason) for a missing or unreadable file, 0 points or no finite y value; the model is
    then unchanged. :class:`ModelContentError` for an unknown data set.
    """
    file = Path(path)
    opts = dict(options or {})
    mode = opts.pop("commands", "auto")
    new_name = opts.pop("name", None)
    data_id = opts.pop("data_id", 0)
    if not isinstance(data_id, int) or isinstance(data_id, bool) or data_id < 0:
        raise DataFileError(f"loader option data_id must be an entry number (0, 1, …), got {data_id!r}")
    if mode not in COMMAND_MODES:
        raise DataFileError(f"loader option commands must be one of {', '.join(COMMAND_MODES)}, got {mode!r}")
    index = dataset_index(model, dataset)
    if not file.is_file():
        raise DataFileError(f"{file.name}: no such file ({file})")
    plugin = make_loader(loader, opts)
    check_format(plugin, loader, file)
    template = model.model.data[index]
    from genx.data import DataSet

    new = DataSet(name=str(template.name), copy_from=template)
    with captured_dialogs() as messages, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            plugin.LoadDataset(new, str(file), data_id=data_id)
        except Exception as exc:  # a plugin's own bug or an unexpected format
            reason = f"{type(exc).__name__}: {content_free(str(exc), file)}"
            raise DataFileError(f"{file.name}: the {loader} loader failed: {reason}") from exc
    if len(new.x_raw) == 0 and any("contained no data" in str(w.message) for w in caught):
        raise DataFileError(f"{file.name}: the file has 0 data points")
    if len(new.x_raw) == 0:
        reasons = [loader_reason(m, file) for m in messages.dialogs if m.strip()] or messages.statuses
        raise DataFileError(f"{file.name}: {'; '.join(reasons) or 'the ' + loader + ' loader found no data'}")
    for message in messages.dialogs + messages.statuses:
        log.info("%s: %s", file.name, " ".join(message.split()))
    apply_template_commands(new, template, mode, file)
    new.name = str(template.name)  # some loaders (ORSO) name the data set after the file's own
    if new_name is not None:
        new.name = str(new_name).replace("{stem}", file.stem).replace("{file}", file.name)
    check_points(new, file)
    model.model.data[index] = new


def check_format(plugin: Any, loader: str, file: Path) -> None:
    """Refuse a file that a format-specific loader's own check rejects (some loop forever on it)."""
    if loader == "auto" or getattr(type(plugin), "wildcard", None) is None:
        return
    try:
        accepted = bool(plugin.CanOpen(str(file)))
    except (OSError, ValueError):  # unreadable as the loader expects (e.g. binary as text)
        accepted = False
    if not accepted:
        raise DataFileError(
            f"{file.name}: not a file the {loader} loader reads (it expects {plugin.wildcard})"
        )


def dataset_index(model: GenxModel, dataset: int | str) -> int:
    """Index of data set ``dataset`` (index or exact name); :class:`ModelContentError` if absent."""
    names = [str(d.name) for d in model.model.data]
    listing = ", ".join(f"{i} {n!r}" for i, n in enumerate(names))
    if isinstance(dataset, int) and not isinstance(dataset, bool):
        if 0 <= dataset < len(names):
            return dataset
        raise ModelContentError(f"data set {dataset} is not in the model; its data sets are: {listing}")
    if dataset in names:
        return names.index(str(dataset))
    raise ModelContentError(f"data set {dataset!r} is not in the model; its data sets are: {listing}")


@dataclass(frozen=True)
class LoaderMessages:
    """What a loader said: dialog texts (its reasons for failing) and status-bar texts."""

    dialogs: list[str]
    statuses: list[str]


@contextlib.contextmanager
def captured_dialogs() -> Iterator[LoaderMessages]:
    """Collect the loaders' dialog and status texts instead of showing or printing them.

    Patches GenX's plugin modules for the duration (a fit process loads one file at a time).
    """
    messages = LoaderMessages([], [])

    def capture(_parent: Any, message: Any = "", *_args: Any, **_kwargs: Any) -> None:
        messages.dialogs.append(str(message))

    def status(_self: Any, text: Any) -> None:
        messages.statuses.append(str(text))

    from genx.plugins import data_loader_framework

    template_class = data_loader_framework.Template
    saved: list[tuple[Any, str, Any]] = [(template_class, "SetStatusText", template_class.SetStatusText)]
    template_class.SetStatusText = status
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("genx.plugins"):
            for attribute in DIALOGS:
                if hasattr(module, attribute):
                    saved.append((module, attribute, getattr(module, attribute)))
                    setattr(module, attribute, capture)
    try:
        yield messages
    finally:
        for owner, attribute, original in saved:
            setattr(owner, attribute, original)


QUOTED = re.compile("'[^'\\n]*'|\"[^\"\\n]*\"")


def content_free(text: str, file: Path) -> str:
    """A parser's message without the file's content: numpy and GenX quote the text they could not
    read (``could not convert string 'abc' to float64``); the quotes are replaced by ``…``, the file
    name kept. Error messages must never show what a file holds."""
    text = text.replace(str(file), file.name)
    text = re.sub(r"could not convert string '[^']*' to", "could not convert a text value to", text)
    name = {f"'{file.name}'", f'"{file.name}"'}
    return QUOTED.sub(lambda m: m.group() if m.group() in name else "'…'", text)


def loader_reason(message: str, file: Path) -> str:
    """A GenX loader's dialog text as one line, e.g. ``could not read the file: numpy.loadtxt: …``."""
    text = content_free(message, file)
    match = re.search(
        r"could not load the file.*?\n\s*\n\s*(.+?) gave the following error:\s*(.*)", text, re.I | re.S
    )
    if match:
        return f"could not read the file: {match[1].strip()}: {' '.join(match[2].split())}"
    head, traceback, tail = text.partition("Traceback (most recent call last)")
    if traceback:
        head = head.replace("Please check the format.", "")
        return f"{' '.join(head.split()).rstrip(':')}: {last_line(tail)}"
    return " ".join(text.split())


def apply_template_commands(new: Any, template: Any, mode: str, file: Path) -> None:
    """Give ``new`` the template's x/y/error/extra commands per ``mode``, then run the commands.

    ``auto`` takes each of the template's own (non-default) commands that only uses data
    the file provides, and keeps the loader's for the others (with a warning).
    """
    own = {key: getattr(new, key) for key in DEFAULT_COMMANDS}, dict(new.extra_commands)
    wanted = {key: str(getattr(template, key)) for key in DEFAULT_COMMANDS}
    wanted = {key: command for key, command in wanted.items() if command != DEFAULT_COMMANDS[key]}
    extras = {
        k: str(v) for k, v in template.extra_commands.items() if k in new.extra_data_raw and str(v) != k
    }
    template_names = set(template.extra_data_raw) | set(template.extra_commands)
    skipped = []
    for key, command in [*wanted.items(), *extras.items()] if mode != "loader" else []:
        missing = sorted((names_in(command) & template_names) - set(new.extra_data_raw))
        if missing:
            which = key.removesuffix("_command")
            skipped.append(f"the template's {which} command {command!r} uses {missing[0]!r}, not in the file")
        elif key in DEFAULT_COMMANDS:
            setattr(new, key, command)
        else:
            new.extra_commands[key] = command
    if skipped and mode == "template":
        raise DataFileError(f"{file.name}: {skipped[0]}; use loader option commands = 'loader'")
    if skipped:
        log.warning("%s: %s; the loader's own command is used instead", file.name, "; ".join(skipped))
    try:
        new.run_command()
        return
    except Exception as exc:
        problem = f"the template's commands failed on this file: {type(exc).__name__}: {exc}"
        if mode != "auto":
            raise DataFileError(f"{file.name}: {problem}") from exc
    log.warning("%s: %s; using the loader's own x, y and error", file.name, problem)
    for key, command in own[0].items():
        setattr(new, key, command)
    new.extra_commands = own[1]
    run_commands(new, file)


def names_in(command: str) -> set[str]:
    """Python names a data-set command refers to (empty if it does not parse)."""
    try:
        tree = ast.parse(command, mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def run_commands(new: Any, file: Path) -> None:
    try:
        new.run_command()
    except Exception as exc:
        raise DataFileError(
            f"{file.name}: the data set's commands failed: {type(exc).__name__}: {exc}"
        ) from exc


def check_points(new: Any, file: Path) -> None:
    """Raise :class:`DataFileError` when the derived data set has no usable points."""
    x, y = np.asarray(new.x, dtype=float), np.asarray(new.y, dtype=float)
    if x.size == 0 or y.size == 0:
        raise DataFileError(f"{file.name}: the file has 0 data points")
    if x.shape != y.shape:
        raise DataFileError(f"{file.name}: x has {x.size} points but y has {y.size}")
    if not np.isfinite(y).any():
        raise DataFileError(f"{file.name}: no finite y value among its {y.size} points (all NaN or inf)")


def header_lines(file: Path) -> list[str]:
    """The comment lines of a text file, comment characters stripped at the start."""
    try:
        with file.open(encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in handle if line.lstrip()[:1] in COMMENT_CHARS]
    except OSError as exc:
        raise DataFileError(f"{file.name}: cannot read the file: {exc.strerror or exc}") from exc


def read_header_value(path: str | os.PathLike[str], key: str) -> float:
    """The number given for ``key`` in the file's header (its unit, if any, is dropped).

    See :func:`read_header_quantity`; raises :class:`DataFileError`.
    """
    return read_header_quantity(path, key)[0]


def read_header_quantity(path: str | os.PathLike[str], key: str) -> tuple[float, str | None]:
    """The number given for ``key`` in the file's header and its unit (None when not given).

    Finds comment lines like ``# temperature: 300 K``, ``# T = 300`` or ``# T (K): 300``
    (key case-insensitive; the unit in brackets after the key, or one word after the number),
    and in ORSO files also the YAML header (``temperature`` found at any depth, or a dotted
    path like ``sample.sample_parameters.temperature``; a ``{magnitude, unit}`` value gives
    its magnitude and unit). Raises :class:`DataFileError`.
    """
    file = Path(path)
    lines = header_lines(file)
    if lines and lines[0].startswith("# # ORSO"):
        found = orso_header_quantity(lines, key)
        if found is not None:
            return found
    pattern = re.compile(
        rf"^[\s{COMMENT_CHARS}]*{re.escape(key)}\s*(?:[(\[]([^)\]]*)[)\]])?\s*[:=]\s*({NUMBER})"
        rf"(?:\s+({UNIT}))?\s*$",
        re.I,
    )
    loose = re.compile(
        rf"^[\s{COMMENT_CHARS}]*{re.escape(key)}\s*(?:[(\[][^)\]]*[)\]])?\s*[:=]\s*({NUMBER})", re.I
    )
    for line in lines:
        match = pattern.match(line.rstrip())
        if match:
            unit = (match[1] or "").strip() or match[3]
            return float(match[2]), unit or None
        loose_match = loose.match(line)
        if loose_match:
            return float(loose_match[1]), None
    raise DataFileError(f"{file.name}: no header value for {key!r} (expected a line like '# {key}: 300 K')")


UNIT = r"[A-Za-zµμ°Å%][A-Za-z0-9µμ°Å%/^*.·-]{0,11}"
"""A unit written after a header number (``K``, ``mT``, ``°C``, ``mbar``, ``Å``): one short word."""


def orso_header_quantity(lines: list[str], key: str) -> tuple[float, str | None] | None:
    yaml = importlib.import_module("yaml")
    body = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines[1:]]
    body = [line for line in body if not line.startswith("# ")]
    try:
        header = yaml.safe_load("\n".join(body))
    except Exception:
        return None
    found = lookup(header, key.split(".")) if "." in key else search(header, key)
    unit: str | None = None
    if isinstance(found, dict):
        given = found.get("unit")
        unit = given.strip()[:40] or None if isinstance(given, str) else None
        found = found.get("magnitude")
    if isinstance(found, int | float) and not isinstance(found, bool) and math.isfinite(found):
        return float(found), unit
    return None


def lookup(tree: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def search(tree: Any, key: str) -> Any:
    """The first value stored under ``key`` at any depth of nested dicts/lists, depth-first."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        children: list[Any] = list(tree.values())
    elif isinstance(tree, list):
        children = tree
    else:
        return None
    for child in children:
        found = search(child, key)
        if found is not None:
            return found
    return None


def column_value(
    path: str | os.PathLike[str], column: int | str, *, comment: str = "#", delimiter: str | None = None
) -> float:
    """The mean of one column of a plain-column file (NaNs ignored).

    ``column`` is a 0-based index or a name from the last comment line before the data
    (e.g. ``# Q R dR T``). Raises :class:`DataFileError`.
    """
    file = Path(path)
    index = column if isinstance(column, int) else column_index(file, column)
    try:
        table = np.loadtxt(file, comments=comment, delimiter=delimiter, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataFileError(
            f"{file.name}: could not read the file: numpy.loadtxt: {content_free(str(exc), file)}"
        ) from exc
    if not 0 <= index < table.shape[1]:
        raise DataFileError(f"{file.name}: has {table.shape[1]} columns, no column {index} (counting from 0)")
    values = table[:, index]
    if not np.isfinite(values).any():
        raise DataFileError(f"{file.name}: column {column} has no finite value")
    return float(np.nanmean(values))


def column_index(file: Path, name: str) -> int:
    for line in reversed(header_lines(file)):
        names = re.split(r"[\s,;]+", line.lstrip(COMMENT_CHARS + " \t").strip())
        lowered = [n.lower() for n in names]
        if name.lower() in lowered:
            return lowered.index(name.lower())
    raise DataFileError(f"{file.name}: no column named {name!r} in a header line like '# Q R dR {name}'")
