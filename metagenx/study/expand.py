"""Expand a study into its jobs: the product of data files × settings × parameter variants × seeds.

Everything that can be checked before a fit runs is checked here, against the template
itself: parameter names (with a suggestion for typos), start values inside bounds, the
data set, the loader and its options, data files and their order. Expansion is
deterministic: the same definition always gives the same jobs, labels and seeds.
"""

from __future__ import annotations

import difflib
import glob
import itertools
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.model import GenxModel
from metagenx.engine.settings import FitSettings
from metagenx.errors import DataFileError, ModelContentError, SettingsError
from metagenx.jobs import DataAssignment, JobSpec, ParameterOverride
from metagenx.study.definition import (
    PARAMETER_FIELDS,
    SETTING_KINDS,
    DataBatch,
    RandomSearch,
    StudyDefinition,
    definition_error,
)

GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class DataFile:
    """One data file of a batch, in fitting order."""

    path: str
    display: str
    order_value: float | None
    order_unit: str | None = None
    """The order value's unit when the header gives one (``K``), else None."""


@dataclass(frozen=True)
class Choice:
    """One value along the non-data axes: settings or overrides, its axis values and label parts."""

    settings: dict[str, Any]
    overrides: list[ParameterOverride]
    axes: dict[str, Any]
    label: list[str]


@dataclass(frozen=True)
class Draft:
    """A job before its label is made unique; ``chain`` is (choice index, repeat) of its sequence."""

    label: str
    axes: dict[str, Any]
    chain: tuple[int, int]
    file: DataFile | None
    choice: Choice
    seed: int


def expand(definition: StudyDefinition, model_info: GenxModel | None = None) -> list[JobSpec]:
    """Every job of the study, a sequential chain's jobs after the job they start from.

    ``model_info`` is the loaded template (loaded from ``definition.template_path`` when
    None). Raises :class:`StudyDefinitionError` naming the key (and line, for a study
    file) for unknown parameters, bad bounds, an unknown data set or loader option, data
    patterns without a match and files without the order value; ModelFileError when the
    template cannot be loaded.
    """
    if model_info is None and definition.confined:
        confined_file(definition, definition.template_path, ("template",))
    model = model_info if model_info is not None else GenxModel.load(definition.template_path)
    check_parameters(definition, model)
    files = data_files(definition, model) if definition.data is not None else [None]
    seeds = definition.start_seeds()
    explicit = bool(definition.seeds)
    combos = [
        merge(point, variant)
        for point in setting_points(definition)
        for variant in parameter_variants(definition)
    ]
    drafts: list[Draft] = []
    for file_index, file in enumerate(files):
        for combo_index, combo in enumerate(combos):
            for repeat, seed in enumerate(seeds):
                parts = [file.display] if file is not None and len(files) > 1 else []
                parts += combo.label
                if len(seeds) > 1:
                    parts.append(f"seed={seed}" if explicit else f"r{repeat + 1}")
                axes: dict[str, Any] = {"seed": seed, "repeat": repeat + 1, **combo.axes}
                if file is not None:
                    axes.update(data_file=file.display, data_path=file.path, file_index=file_index)
                    if file.order_value is not None:
                        axes["order_value"] = file.order_value
                    if file.order_unit is not None:
                        axes["order_unit"] = file.order_unit
                drafts.append(Draft(" ".join(parts) or "fit", axes, (combo_index, repeat), file, combo, seed))
    batch = definition.data
    sequential = batch is not None and batch.sequential
    previous: dict[tuple[int, int], str] = {}
    jobs = []
    for label, draft in zip(unique([d.label for d in drafts]), drafts, strict=True):
        data = []
        if draft.file is not None and batch is not None:
            data = [DataAssignment(batch.dataset, draft.file.path, batch.loader, dict(batch.options))]
        jobs.append(
            JobSpec(
                label=label,
                model_path=str(definition.template_path),
                settings=job_settings(definition, draft.choice, draft.seed, label),
                data=data,
                overrides=draft.choice.overrides,
                sequence=draft.axes.get("file_index") if sequential else None,
                depends_on=previous.get(draft.chain) if sequential else None,
                axes=draft.axes,
            )
        )
        previous[draft.chain] = label
    return jobs


def job_settings(definition: StudyDefinition, combo: Choice, seed: int, label: str) -> dict[str, Any]:
    values = {**definition.settings, **combo.settings, "seed": seed}
    try:
        return FitSettings.from_dict(values).to_dict()
    except SettingsError as exc:
        raise definition_error(definition, ("settings",), f"job {label!r}: {exc}") from None


def setting_points(definition: StudyDefinition) -> list[Choice]:
    """The grid's cartesian product, crossed with the random samples."""
    names = list(definition.grid)
    grid = []
    for values in itertools.product(*(definition.grid[n] for n in names)):
        label = [f"{n}={fmt(v)}" for n, v in zip(names, values, strict=True) if len(definition.grid[n]) > 1]
        grid.append(
            Choice(dict(zip(names, values, strict=True)), [], dict(zip(names, values, strict=True)), label)
        )
    if definition.random is None:
        return grid
    samples = random_samples(definition.random)
    many = len(samples) > 1
    return [
        Choice(
            {**g.settings, **s},
            [],
            {**g.axes, "sample": i + 1, **s},
            g.label + ([f"s{i + 1}"] if many else []),
        )
        for g in grid
        for i, s in enumerate(samples)
    ]


def random_samples(search: RandomSearch) -> list[dict[str, Any]]:
    """``search.samples`` draws, reproducible from ``search.seed``; floats to 6 significant digits."""
    rng = np.random.default_rng(search.seed)
    samples = []
    for _ in range(search.samples):
        sample: dict[str, Any] = {}
        for axis in search.axes:
            if axis.choices:
                sample[axis.setting] = axis.choices[int(rng.integers(len(axis.choices)))]
                continue
            low, high = float(axis.low or 0.0), float(axis.high or 0.0)
            if SETTING_KINDS[axis.setting] == "int":
                if axis.log:
                    value = round(math.exp(rng.uniform(math.log(low), math.log(high + 1))) - 0.5)
                    sample[axis.setting] = int(min(max(value, low), high))
                else:
                    sample[axis.setting] = int(rng.integers(int(low), int(high) + 1))
                continue
            drawn = (
                math.exp(rng.uniform(math.log(low), math.log(high))) if axis.log else rng.uniform(low, high)
            )
            sample[axis.setting] = min(max(float(f"{drawn:.6g}"), low), high)
        samples.append(sample)
    return samples


def parameter_variants(definition: StudyDefinition) -> list[Choice]:
    """Every combination of the listed parameter values; single values apply to every job."""
    axes: list[tuple[str, str, tuple[Any, ...]]] = [
        (p.name, f, getattr(p, f)) for p in definition.parameters for f in PARAMETER_FIELDS if getattr(p, f)
    ]
    variants = []
    for values in itertools.product(*(a[2] for a in axes)):
        changes: dict[str, dict[str, Any]] = {}
        axis_values: dict[str, Any] = {}
        label = []
        for (name, field_name, options), value in zip(axes, values, strict=True):
            changes.setdefault(name, {})[field_name] = value
            if len(options) > 1:
                axis_values[f"{'start' if field_name == 'value' else field_name}:{name}"] = value
                label.append(f"{name}{'' if field_name == 'value' else '.' + field_name}={fmt(value)}")
        overrides = [ParameterOverride(name, **fields) for name, fields in changes.items()]
        variants.append(Choice({}, overrides, axis_values, label))
    return variants


def merge(point: Choice, variant: Choice) -> Choice:
    return Choice(
        point.settings, variant.overrides, {**point.axes, **variant.axes}, point.label + variant.label
    )


def check_parameters(definition: StudyDefinition, model: GenxModel) -> None:
    """Every named parameter exists; every variant keeps min ≤ start ≤ max for fitted rows."""
    rows = {p.name: p for p in model.parameters}
    for change in definition.parameters:
        row = rows.get(change.name)
        if row is None:
            close = difflib.get_close_matches(change.name, list(rows), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"its parameters are: {', '.join(rows)}"
            message = f"parameter {change.name!r} is not in the model {definition.template_path.name}; {hint}"
            raise definition_error(definition, ("parameters", change.name), message)
        use_bounds = bool(model.optimizer_settings.get("use_boundaries", True))
        for value, low, high, fit in itertools.product(
            change.value or (row.value,),
            change.min or (row.min,),
            change.max or (row.max,),
            change.fit or (row.fit,),
        ):
            problem = None
            if low > high:
                problem = f"min {low:g} is larger than max {high:g}"
            elif fit and use_bounds and not low <= value <= high:
                problem = f"start value {value:g} lies outside its bounds [{low:g}, {high:g}]"
            if problem:
                raise definition_error(definition, ("parameters", change.name), f"{change.name}: {problem}")


def data_files(definition: StudyDefinition, model: GenxModel) -> list[DataFile | None]:
    """The batch's files in fitting order, after checking the data set and the loader options."""
    batch = definition.data
    assert batch is not None
    from metagenx.engine.data import RESERVED_OPTIONS, dataset_index, make_loader

    try:
        dataset_index(model, batch.dataset)
    except ModelContentError as exc:
        raise definition_error(definition, ("data", "dataset"), str(exc)) from None
    try:
        make_loader(batch.loader, {k: v for k, v in batch.options.items() if k not in RESERVED_OPTIONS})
    except DataFileError as exc:
        raise definition_error(definition, ("data", "options"), str(exc)) from None
    paths = find_files(definition, batch)
    display = display_names(paths)
    files = [DataFile(p, d, *order_value(definition, batch, p)) for p, d in zip(paths, display, strict=True)]
    if batch.order_kind == "name":
        files.sort(key=lambda f: natural_key(f.display))
    else:
        files.sort(key=lambda f: (f.order_value, natural_key(f.display)))
    return list(reversed(files)) if batch.reverse else list(files)


def find_files(definition: StudyDefinition, batch: DataBatch) -> list[str]:
    """Absolute paths of the batch's files: patterns expanded, duplicates dropped, first seen first."""
    found: dict[str, None] = {}
    folder = "the study's folder" if definition.confined else definition.base_dir
    for index, entry in enumerate(batch.files):
        where = ("data", "files", index)
        expanded = entry if definition.confined else os.path.expanduser(entry)
        pattern = os.path.join(definition.base_dir, expanded)
        if GLOB_CHARS.search(entry):
            matches = sorted(
                (m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m)), key=natural_key
            )
            if definition.confined:
                matches = [m for m in matches if is_confined(definition, m)]
            if not matches:
                raise definition_error(definition, where, f"pattern {entry!r} matches no file (in {folder})")
        elif not os.path.isfile(pattern):
            shown = entry if definition.confined else pattern
            raise definition_error(definition, where, f"no such data file: {shown}")
        else:
            if definition.confined:
                confined_file(definition, Path(pattern), where)
            matches = [pattern]
        for match in matches:
            found.setdefault(os.path.abspath(match), None)
    return list(found)


def is_confined(definition: StudyDefinition, path: str) -> bool:
    """Whether ``path`` lies inside the study's folder and is reached without a symbolic link."""
    base = os.path.abspath(definition.base_dir)
    relative = os.path.relpath(os.path.abspath(path), base)
    if relative.split(os.sep)[0] == os.pardir:
        return False
    return os.path.realpath(path) == os.path.join(os.path.realpath(base), relative)


def confined_file(definition: StudyDefinition, path: Path, where: tuple[str | int, ...]) -> None:
    """Raise :class:`StudyDefinitionError` unless ``path`` is a file of the study's folder itself."""
    if not is_confined(definition, str(path)):
        raise definition_error(
            definition, where, f"{path.name} is a link to outside the study's folder; upload the file itself"
        )


def order_value(definition: StudyDefinition, batch: DataBatch, path: str) -> tuple[float | None, str | None]:
    """The file's order value and its unit (a header's, when given)."""
    from metagenx.engine.data import column_value, read_header_quantity

    try:
        if batch.order_kind == "header":
            return read_header_quantity(path, batch.order_key)
        if batch.order_kind == "column":
            key = batch.order_key
            column: int | str = int(key) if key.isdigit() else key
            comment = str(batch.options.get("comment", "#"))
            delimiter = batch.options.get("delimiter")
            value = column_value(
                path, column, comment=comment, delimiter=None if delimiter is None else str(delimiter)
            )
            return value, None
    except DataFileError as exc:
        raise definition_error(definition, ("data", "order"), str(exc)) from None
    return None, None


def display_names(paths: Sequence[str]) -> list[str]:
    """Each path relative to the deepest folder common to all (``T300.dat``, ``run2/T300.dat``)."""
    if not paths:
        return []
    common = os.path.commonpath([os.path.dirname(p) for p in paths])
    return [Path(os.path.relpath(p, common)).as_posix() for p in paths]


def natural_key(text: str) -> list[Any]:
    """Sort key putting ``T2`` before ``T10``."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", text)
    ]


def unique(labels: list[str]) -> list[str]:
    """``labels`` with repeats made unique by a ``#2``, ``#3``… suffix."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def fmt(value: Any) -> str:
    """A short text for a label: ``0.7``, ``1e-05``, ``rand_1_bin``, ``True``."""
    return f"{value:g}" if isinstance(value, float) else str(value)
