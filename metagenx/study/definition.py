"""A study as frozen dataclasses: one template model and the axes it expands along.

A :class:`StudyDefinition` is what a study file (TOML), a JSON body or the Python
:class:`metagenx.study.Study` says, checked for keys and types (see
:mod:`metagenx.study.schema`). Turning it into jobs is :func:`metagenx.study.expand.expand`.
:meth:`StudyDefinition.to_dict` gives the same plain form back, so a study can be saved
beside its results and read again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.settings import FitSettings
from metagenx.errors import StudyDefinitionError

SETTING_NAMES = tuple(f.name for f in dataclasses.fields(FitSettings) if f.name != "seed")
"""Fit settings a study may set or vary (seeds have their own axis)."""
SETTING_KINDS = {f.name: str(f.type).split()[0] for f in dataclasses.fields(FitSettings)}
"""``"int"``, ``"float"``, ``"str"`` or ``"bool"`` per setting."""
OPTIONAL_SETTINGS = frozenset(f.name for f in dataclasses.fields(FitSettings) if "None" in str(f.type))
"""Settings that may be ``None`` (JSON ``null``): take the model file's value."""
PARAMETER_FIELDS = ("value", "min", "max", "fit")


@dataclass(frozen=True)
class RandomAxis:
    """One setting drawn per random sample.

    Uniform in [``low``, ``high``] (log-uniform with ``log``; whole numbers for integer
    settings), or one of ``choices`` when those are given.
    """

    setting: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def to_value(self) -> Any:
        """The study-file form: ``[low, high]``, ``{low, high, log}``, ``[choices…]`` or ``{choices}``."""
        if self.choices:
            plain = len(self.choices) != 2 or not all(is_number(c) for c in self.choices)
            return list(self.choices) if plain else {"choices": list(self.choices)}
        if self.log:
            return {"low": self.low, "high": self.high, "log": True}
        return [self.low, self.high]


@dataclass(frozen=True)
class RandomSearch:
    """``samples`` random draws of the settings in ``axes``, reproducible from ``seed``."""

    samples: int
    seed: int
    axes: tuple[RandomAxis, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "seed": self.seed, **{a.setting: a.to_value() for a in self.axes}}


@dataclass(frozen=True)
class ParameterVariation:
    """Changes to one named row of the template's parameter grid.

    Each field lists the values to use (empty: keep the template's); a field with more
    than one value is an axis of the study. ``value`` is the start value.
    """

    name: str
    value: tuple[float, ...] = ()
    min: tuple[float, ...] = ()
    max: tuple[float, ...] = ()
    fit: tuple[bool, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in PARAMETER_FIELDS:
            values = getattr(self, name)
            if values:
                out[name] = values[0] if len(values) == 1 else list(values)
        return out


@dataclass(frozen=True)
class DataBatch:
    """Data files fitted one by one with the template (batch fitting).

    Attributes:
        files: paths or glob patterns (``*``, ``?``, ``[…]``, ``**``), relative to the study's folder.
        dataset: the template's data set (index or name) each file is loaded into.
        loader: a GenX data-loader name (``auto``, ``default``, ``orso``, ``resolution``, …).
        options: loader settings (``x_col``, ``y_col``, ``e_col``, ``skip_rows``, ``comment``,
            ``delimiter``, …) and ``commands``/``name``/``data_id``, see
            :func:`metagenx.engine.data.load_into_dataset`.
        sequential: each fit starts from the fitted values of the previous file in order.
        order: ``"name"`` (natural sort), ``"header:<key>"`` (a number in the file header)
            or ``"column:<index or name>"`` (the mean of a column).
        reverse: descending order.
    """

    files: tuple[str, ...]
    dataset: int | str = 0
    loader: str = "auto"
    options: Mapping[str, Any] = field(default_factory=dict)
    sequential: bool = False
    order: str = "name"
    reverse: bool = False

    @property
    def order_kind(self) -> str:
        """``name``, ``header`` or ``column``."""
        return self.order.partition(":")[0]

    @property
    def order_key(self) -> str:
        """The header key or column of ``order`` (empty for ``name``)."""
        return self.order.partition(":")[2]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "files": list(self.files),
            "loader": self.loader,
            "options": dict(self.options),
            "sequential": self.sequential,
            "order": self.order,
            "reverse": self.reverse,
        }


@dataclass(frozen=True)
class StudyDefinition:
    """One template model and the axes it is expanded along.

    Attributes:
        template: the model file (``.hgx``/``.gx``) as written, relative to ``base_dir``.
        base_dir: absolute folder that relative paths (template, data files) start from.
        name: the study's name (default: the template's file name without extension).
        description: free text.
        seed: the study seed; the seeds of ``repeats`` starts are derived from it.
        repeats: independent starts per combination of the other axes (ignored with ``seeds``).
        seeds: explicit seeds, one start each.
        settings: :class:`FitSettings` values shared by every job.
        grid: settings varied over every combination of the listed values.
        random: settings drawn at random (crossed with ``grid``).
        parameters: parameter-grid changes; lists are axes.
        data: data files fitted one by one.
    """

    template: str
    base_dir: str
    name: str = ""
    description: str = ""
    seed: int = 0
    repeats: int = 1
    seeds: tuple[int, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    random: RandomSearch | None = None
    parameters: tuple[ParameterVariation, ...] = ()
    data: DataBatch | None = None
    source: str = field(default="", compare=False)
    """The study file this was read from (for line numbers in later errors); not saved by to_dict."""
    confined: bool = field(default=False, compare=False)
    """Files only inside ``base_dir``, reached without symbolic links (a study uploaded to a server)."""

    @property
    def template_path(self) -> Path:
        """The template's path: absolute when ``base_dir`` is (``..`` parts resolved, links kept)."""
        return Path(os.path.normpath(os.path.join(self.base_dir, self.template)))

    def start_seeds(self) -> list[int]:
        """The seed of each start: ``seeds``, or ``repeats`` seeds derived from ``seed``.

        Derived seeds come from ``numpy.random.SeedSequence(seed)``: the same study seed
        always gives the same seeds, and raising ``repeats`` keeps the first ones.
        """
        if self.seeds:
            return list(self.seeds)
        return [int(s) for s in np.random.SeedSequence(self.seed).generate_state(self.repeats)]

    def to_dict(self, *, absolute: bool = False) -> dict[str, Any]:
        """The plain (TOML/JSON) form; ``absolute`` writes template and data paths as absolute paths."""

        def path(text: str) -> str:
            return os.path.join(self.base_dir, text) if absolute else text

        out: dict[str, Any] = {"name": self.name, "template": path(self.template)}
        if self.description:
            out["description"] = self.description
        out["seed"] = self.seed
        if self.seeds:
            out["seeds"] = list(self.seeds)
        else:
            out["repeats"] = self.repeats
        out["settings"] = dict(self.settings)
        out["grid"] = {k: list(v) for k, v in self.grid.items()}
        if self.random is not None:
            out["random"] = self.random.to_dict()
        out["parameters"] = {p.name: p.to_dict() for p in self.parameters}
        if self.data is not None:
            out["data"] = self.data.to_dict()
            out["data"]["files"] = [path(f) for f in self.data.files]
        return out


def study_from_dict(
    values: Mapping[str, Any], base_dir: str | os.PathLike[str], *, confined: bool = False
) -> StudyDefinition:
    """Build a study from its plain form (JSON, Python dicts); relative paths start at ``base_dir``.

    Raises :class:`StudyDefinitionError` naming the key for unknown keys, wrong types
    and bad values (settings are checked by :class:`FitSettings`). ``confined`` (an uploaded
    study): its files must be inside ``base_dir`` (see :attr:`StudyDefinition.confined`).
    """
    from metagenx.study.schema import Problem, parse

    try:
        return parse(values, Path(base_dir).resolve(), confined=confined)
    except Problem as problem:
        raise StudyDefinitionError(f"{problem.key}: {problem.message}", key=problem.key) from None


def load_study(path: str | os.PathLike[str]) -> StudyDefinition:
    """Read a study file: TOML (``.toml``) or JSON (``.json``); relative paths start at its folder.

    Raises :class:`StudyDefinitionError` naming the key and its line for unknown keys,
    wrong types and bad values, and the line and column of TOML syntax errors.
    """
    from metagenx.study.schema import Problem, parse

    file = Path(path)
    try:
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StudyDefinitionError(f"cannot read the study file {file}: {reason}") from exc
    try:
        values = json.loads(content) if file.suffix.lower() == ".json" else tomllib.loads(content)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "JSON" if isinstance(exc, json.JSONDecodeError) else "TOML"
        position = re.search(r"line (\d+)", str(exc))
        line = int(position[1]) if position else None
        raise StudyDefinitionError(f"{file.name}: not valid {kind}: {exc}", line=line) from None
    try:
        definition = parse(values, file.parent.resolve())
    except Problem as problem:
        raise located_error(file, content, problem.path, problem.message) from None
    return dataclasses.replace(definition, source=str(file.resolve()))


def located_error(
    file: Path, content: str | None, path: Sequence[str | int], message: str
) -> StudyDefinitionError:
    """``"study.toml, line 7: grid.km: <message>"``; the line is looked up in ``content`` (file text)."""
    from metagenx.study.locate import key_line
    from metagenx.study.schema import dotted

    key = dotted(tuple(path))
    line = key_line(content, path) if content is not None else None
    where = f"{file.name}, line {line}" if line else file.name
    return StudyDefinitionError(f"{where}: {key}: {message}", key, line)


def definition_error(
    definition: StudyDefinition, path: Sequence[str | int], message: str
) -> StudyDefinitionError:
    """An error about the key at ``path`` of ``definition``, with its line when it came from a file."""
    from metagenx.study.schema import dotted

    if definition.source:
        file = Path(definition.source)
        try:
            content: str | None = file.read_text(encoding="utf-8")
        except OSError:
            content = None
        return located_error(file, content, path, message)
    key = dotted(tuple(path))
    return StudyDefinitionError(f"{key}: {message}", key)


def is_number(value: Any) -> bool:
    """True for int and float, not bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)
