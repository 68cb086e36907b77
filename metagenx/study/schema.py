"""Check a study's plain form (parsed TOML, JSON, Python dicts) and build its :class:`StudyDefinition`.

:func:`parse` raises :class:`Problem` with the key path at fault;
:func:`metagenx.study.definition.study_from_dict` turns it into a
:class:`StudyDefinitionError` naming the key, and
:func:`metagenx.study.definition.load_study` adds the line in the study file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metagenx.engine.settings import FitSettings
from metagenx.errors import SettingsError
from metagenx.study.definition import (
    OPTIONAL_SETTINGS,
    PARAMETER_FIELDS,
    SETTING_KINDS,
    SETTING_NAMES,
    DataBatch,
    ParameterVariation,
    RandomAxis,
    RandomSearch,
    StudyDefinition,
    is_number,
)

Path_ = tuple[str | int, ...]
TOP_KEYS = (
    *("name", "description", "template", "seed", "repeats", "seeds"),
    *("settings", "grid", "random", "parameters", "data"),
)
DATA_KEYS = ("dataset", "files", "loader", "options", "sequential", "order", "reverse")
ORDER = re.compile(r"^(name|header:.+|column:.+)$")
SEED_MAX = 2**32 - 1


class Problem(Exception):
    """A wrong key or value at ``path`` (keys and list indices) of the study's plain form."""

    def __init__(self, path: Path_, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message

    @property
    def key(self) -> str:
        return dotted(self.path)


def dotted(path: Path_) -> str:
    """``data.options.x_col``, ``parameters."Fe.setD".value``, ``grid.km[2]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            text += f".{name}" if text else name
    return text


def parse(values: Any, base_dir: Path, *, confined: bool = False) -> StudyDefinition:
    """The study described by ``values``; relative paths start at ``base_dir`` (absolute).

    ``confined`` (a study uploaded to a server): the template and data files must be relative
    paths inside ``base_dir`` (no absolute path, no ``~``, no ``..``).
    """
    table(values, ())
    known_keys(values, (), TOP_KEYS)
    if "template" not in values:
        raise Problem(("template",), "required: the model file (.hgx or .gx) the study starts from")
    template = text(values["template"], ("template",))
    if confined:
        inside_folder(template, ("template",))
    if "seeds" in values and "repeats" in values:
        raise Problem(("seeds",), "give either repeats (derived seeds) or seeds (explicit), not both")
    seed = integer(values.get("seed", 0), ("seed",), 0, SEED_MAX)
    settings = table(values.get("settings", {}), ("settings",))
    known_keys(settings, ("settings",), SETTING_NAMES)
    for name, value in settings.items():
        check_setting(name, value, ("settings", name))
    grid = parse_grid(values.get("grid", {}))
    return StudyDefinition(
        template=template,
        base_dir=str(base_dir),
        name=text(values.get("name", Path(template).stem), ("name",)),
        description=text(values.get("description", ""), ("description",)),
        seed=seed,
        repeats=integer(values.get("repeats", 1), ("repeats",), 1, 1_000_000),
        seeds=parse_seeds(values["seeds"]) if "seeds" in values else (),
        settings=dict(settings),
        grid=grid,
        random=parse_random(values["random"], seed, grid) if "random" in values else None,
        parameters=tuple(parse_parameter(k, v) for k, v in table(values.get("parameters", {}), ()).items()),
        data=parse_data(values["data"], confined) if "data" in values else None,
        confined=confined,
    )


def inside_folder(entry: str, path: Path_) -> None:
    """Raise :class:`Problem` unless ``entry`` is a relative path that stays inside its folder."""
    parts = entry.replace("\\", "/").split("/")
    if entry.startswith(("/", "~", "\\")) or ":" in parts[0] or ".." in parts:
        raise Problem(path, "must be a path inside the study's folder (relative, without '..')")


def parse_seeds(value: Any) -> tuple[int, ...]:
    seeds = [integer(s, ("seeds", i), 0, SEED_MAX) for i, s in enumerate(listing(value, ("seeds",)))]
    for i, s in enumerate(seeds):
        if s in seeds[:i]:
            raise Problem(("seeds", i), f"seed {s} appears twice")
    return tuple(seeds)


def parse_grid(value: Any) -> dict[str, tuple[Any, ...]]:
    grid = table(value, ("grid",))
    known_keys(grid, ("grid",), SETTING_NAMES)
    out: dict[str, tuple[Any, ...]] = {}
    for name, values in grid.items():
        items = listing(values, ("grid", name), example=f"{name} = [a, b, c]")
        for i, item in enumerate(items):
            check_setting(name, item, ("grid", name, i))
            if item in items[:i]:
                raise Problem(("grid", name, i), f"value {item!r} appears twice")
        out[name] = tuple(items)
    return out


def parse_random(value: Any, study_seed: int, grid: Mapping[str, Any]) -> RandomSearch:
    spec = table(value, ("random",))
    known_keys(spec, ("random",), ("samples", "seed", *SETTING_NAMES))
    if "samples" not in spec:
        raise Problem(("random", "samples"), "required: how many random settings to draw")
    axes = []
    for name, item in spec.items():
        if name in ("samples", "seed"):
            continue
        if name in grid:
            raise Problem(("random", name), f"{name} is already varied in [grid]; vary it in one place")
        axes.append(parse_random_axis(name, item, ("random", name)))
    if not axes:
        raise Problem(("random",), "names no setting to draw, e.g. km = [0.3, 0.9]")
    samples = integer(spec["samples"], ("random", "samples"), 1, 1_000_000)
    return RandomSearch(
        samples, integer(spec.get("seed", study_seed), ("random", "seed"), 0, SEED_MAX), tuple(axes)
    )


def parse_random_axis(name: str, item: Any, path: Path_) -> RandomAxis:
    if isinstance(item, Mapping):
        known_keys(item, path, ("low", "high", "log", "choices"))
        if "choices" in item:
            if len(item) > 1:
                raise Problem(path, "give either choices or low/high, not both")
            return choices_axis(name, listing(item["choices"], (*path, "choices")), (*path, "choices"))
        low, high, log = item.get("low"), item.get("high"), flag(item.get("log", False), (*path, "log"))
    else:
        items = listing(item, path, example=f"{name} = [low, high] or [choice, choice, …]")
        numeric = SETTING_KINDS[name] in ("int", "float")
        if not (numeric and len(items) == 2 and all(is_number(v) for v in items)):
            return choices_axis(name, items, path)
        (low, high), log = items, False
    for key, bound in (("low", low), ("high", high)):
        if bound is None:
            raise Problem(path, f"needs {key}")
        check_setting(name, bound, (*path, key) if isinstance(item, Mapping) else path)
    assert low is not None and high is not None
    if not low < high:
        raise Problem(path, f"low {low} must be smaller than high {high}")
    if log and low <= 0:
        raise Problem(path, "a log-uniform range needs low > 0")
    return RandomAxis(name, low=low, high=high, log=log)


def choices_axis(name: str, items: list[Any], path: Path_) -> RandomAxis:
    for i, choice in enumerate(items):
        check_setting(name, choice, (*path, i))
    return RandomAxis(name, choices=tuple(items))


def parse_parameter(name: str, value: Any) -> ParameterVariation:
    path: Path_ = ("parameters", name)
    if not isinstance(value, Mapping):
        value = {"value": value}  # shorthand: "Fe.setD" = 30 or [20, 30, 40]
    known_keys(value, path, PARAMETER_FIELDS)
    if not value:
        raise Problem(path, "changes nothing; give value, min, max or fit")
    fields: dict[str, tuple[Any, ...]] = {}
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        if not items:
            raise Problem((*path, key), "an empty list; give a value or several")
        for i, entry in enumerate(items):
            where = (*path, key, i) if isinstance(item, list) else (*path, key)
            if key == "fit":
                flag(entry, where)
            elif not is_number(entry):
                raise Problem(where, f"must be a number, got {entry!r}")
        fields[key] = tuple(float(v) if key != "fit" else v for v in items)
    return ParameterVariation(name, **fields)


def parse_data(value: Any, confined: bool = False) -> DataBatch:
    path: Path_ = ("data",)
    spec = {"files": value} if isinstance(value, str | list) else table(value, path)
    known_keys(spec, path, DATA_KEYS)
    if "files" not in spec:
        raise Problem((*path, "files"), "required: a list of data files or a glob pattern like 'data/*.dat'")
    files = spec["files"]
    names = [files] if isinstance(files, str) else listing(files, (*path, "files"))
    files = tuple(text(f, (*path, "files", i)) for i, f in enumerate(names))
    if confined:
        for i, entry in enumerate(files):
            inside_folder(entry, (*path, "files", i))
    dataset = spec.get("dataset", 0)
    if not (isinstance(dataset, str) or (is_number(dataset) and isinstance(dataset, int) and dataset >= 0)):
        raise Problem((*path, "dataset"), f"must be a data set index (0, 1, …) or name, got {dataset!r}")
    loader = text(spec.get("loader", "auto"), (*path, "loader"))
    from metagenx.engine.data import loader_names

    known_value(loader, loader_names(), (*path, "loader"), "data loader")
    options = table(spec.get("options", {}), (*path, "options"))
    for key, option in options.items():
        if not isinstance(option, str | int | float | bool):
            raise Problem((*path, "options", key), f"must be a number, text or true/false, got {option!r}")
    order = text(spec.get("order", "name"), (*path, "order"))
    if not ORDER.match(order):
        raise Problem(
            (*path, "order"), f"must be 'name', 'header:<key>' or 'column:<index or name>', got {order!r}"
        )
    return DataBatch(
        files=files,
        dataset=dataset,
        loader=loader,
        options=dict(options),
        sequential=flag(spec.get("sequential", False), (*path, "sequential")),
        order=order,
        reverse=flag(spec.get("reverse", False), (*path, "reverse")),
    )


def check_setting(name: str, value: Any, path: Path_) -> None:
    """Raise :class:`Problem` unless ``value`` has the type of setting ``name`` and passes FitSettings."""
    kind = SETTING_KINDS[name]
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": is_number(value),
        "str": isinstance(value, str),
    }.get(kind, True)
    if value is None and name in OPTIONAL_SETTINGS:
        ok = True  # JSON null: take the model file's value
    if not ok:
        article = {"int": "an integer", "float": "a number", "str": "text", "bool": "true or false"}[kind]
        raise Problem(path, f"must be {article}, got {value!r}")
    try:
        FitSettings(**{name: value})
    except SettingsError as exc:
        raise Problem(path, str(exc)) from None


def known_keys(values: Mapping[str, Any], path: Path_, known: Sequence[str]) -> None:
    for key in values:
        if key == "seed" and "seed" not in known:
            raise Problem(
                (*path, key), "seeds are set at the top level: seed = N, repeats = N or seeds = [...]"
            )
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            suggestion = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            raise Problem((*path, key), f"unknown key {key!r}{suggestion}")


def known_value(value: str, known: Sequence[str], path: Path_, what: str) -> None:
    if value not in known:
        close = difflib.get_close_matches(value, known, n=1)
        suggestion = f"did you mean {close[0]!r}?" if close else f"choose one of {', '.join(known)}"
        raise Problem(path, f"unknown {what} {value!r}; {suggestion}")


def table(value: Any, path: Path_) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Problem(path, f"must be a table (key = value pairs), got {value!r}")
    return value


def listing(value: Any, path: Path_, example: str = "") -> list[Any]:
    if not isinstance(value, list | tuple) or not value:
        hint = f", e.g. {example}" if example else ""
        raise Problem(path, f"must be a non-empty list{hint}, got {value!r}")
    return list(value)


def text(value: Any, path: Path_) -> str:
    if not isinstance(value, str):
        raise Problem(path, f"must be text, got {value!r}")
    return value


def integer(value: Any, path: Path_, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Problem(path, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        raise Problem(path, f"must be between {low} and {high}, got {value}")
    return value


def flag(value: Any, path: Path_) -> bool:
    if not isinstance(value, bool):
        raise Problem(path, f"must be true or false, got {value!r}")
    return value
