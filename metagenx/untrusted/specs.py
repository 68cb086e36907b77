"""Check the jobs a sandboxed reader expanded a study into, before anything stores or runs them.

The reader's answer is untrusted: a job may only fit the study's own template, read data files
inside the study's folder (no ``..``, no symbolic link leading out, plain files only), use
settings that parse, and refer to earlier jobs of the same study. Anything else refuses the
whole study with :class:`~metagenx.errors.RunnerProtocolError`.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metagenx.errors import RunnerProtocolError, SettingsError
from metagenx.jobs import JobKind, JobSpec
from metagenx.runner.protocol import CONTROL, MAX_NAME
from metagenx.solve.job_settings import parse_job_settings

MAX_JOBS = 20_000
"""Most jobs one study may expand into."""
MAX_VALUE_TEXT = 1000


def refuse(message: str) -> RunnerProtocolError:
    return RunnerProtocolError(f"the study's expansion was refused: {message}")


def checked_specs(specs: Sequence[JobSpec], folder: Path, template: Path) -> list[JobSpec]:
    """``specs`` if every job stays inside ``folder`` and fits ``template``; else raise."""
    if not 0 < len(specs) <= MAX_JOBS:
        raise refuse(f"{len(specs)} jobs (a study has 1 to {MAX_JOBS})")
    root = os.path.realpath(folder)
    labels: set[str] = set()
    for spec in specs:
        check_label(spec.label, labels)
        if spec.kind is not JobKind.FIT:
            raise refuse(f"job {spec.label!r} is a {spec.kind.value}; a study's jobs are fits")
        if spec.model_path != str(template):
            raise refuse(f"job {spec.label!r} fits another model than the study's template")
        for assignment in spec.data:
            inside(assignment.path, folder, root, spec.label)
            if isinstance(assignment.dataset, int) and assignment.dataset < 0:
                raise refuse(f"job {spec.label!r} names a negative data set")
            plain(assignment.loader_options, spec.label, depth=0)
        for override in spec.overrides:
            bounded(override.name, spec.label)
            for number in (override.value, override.min, override.max):
                if number is not None and not math.isfinite(number):
                    raise refuse(
                        f"job {spec.label!r} sets parameter {override.name!r} to a non-finite number"
                    )
        try:
            settings = parse_job_settings(spec.settings)
        except SettingsError as exc:
            raise refuse(f"job {spec.label!r}: {exc}") from None
        if not isinstance(settings.get("seed"), int):
            raise refuse(f"job {spec.label!r} has no seed")
        if spec.sequence is not None and spec.sequence < 0:
            raise refuse(f"job {spec.label!r} has a negative place in its sequence")
        if spec.depends_on is not None and spec.depends_on not in labels - {spec.label}:
            raise refuse(f"job {spec.label!r} starts from a job that does not come before it")
        plain(spec.axes, spec.label, depth=0)
        data_path = spec.axes.get("data_path")
        if data_path is not None and data_path not in [a.path for a in spec.data]:
            raise refuse(f"job {spec.label!r} names a data file it does not fit")
    return list(specs)


def check_label(label: str, seen: set[str]) -> None:
    if not label or len(label) > MAX_NAME or CONTROL.search(label):
        raise refuse("a job label is empty, too long or has control characters")
    if label in seen:
        raise refuse(f"two jobs are labelled {label!r}")
    seen.add(label)


def inside(path: str, folder: Path, root: str, label: str) -> None:
    """``path`` is a plain file under ``folder`` (real path ``root``) reached without a symbolic link."""
    if not os.path.isabs(path) or os.path.normpath(path) != path:
        raise refuse(f"job {label!r} reads a data file by a path that is not plain")
    relative = os.path.relpath(path, folder)
    if relative == os.curdir or relative.split(os.sep)[0] == os.pardir:
        raise refuse(f"job {label!r} reads a data file outside the study's folder")
    if os.path.realpath(path) != os.path.join(root, relative):
        raise refuse(f"job {label!r} reads a data file through a symbolic link")
    try:
        info = os.lstat(path)
    except OSError:
        raise refuse(f"job {label!r} reads a data file that does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise refuse(f"job {label!r} reads something that is not a plain file")


def bounded(text: str, label: str) -> None:
    if len(text) > MAX_NAME or CONTROL.search(text):
        raise refuse(f"job {label!r} has a name that is too long or has control characters")


def plain(value: Any, label: str, depth: int) -> None:
    """``value`` is small plain JSON: bounded texts and depth, finite numbers, text keys."""
    if depth > 8:
        raise refuse(f"job {label!r} carries data nested too deeply")
    if isinstance(value, str):
        if len(value) > MAX_VALUE_TEXT:
            raise refuse(f"job {label!r} carries a text longer than {MAX_VALUE_TEXT} characters")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise refuse(f"job {label!r} carries a non-finite number")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise refuse(f"job {label!r} carries a key that is not text")
            plain(key, label, depth + 1)
            plain(item, label, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            plain(item, label, depth + 1)
    elif value is not None and not isinstance(value, bool | int):
        raise refuse(f"job {label!r} carries a value of type {type(value).__name__}")
