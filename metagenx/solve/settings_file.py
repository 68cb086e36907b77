"""Settings files (TOML): what ``metagenx tune`` writes and ``--settings FILE`` reads.

::

    # tuned by metagenx tune on X-ray_Reflectivity.hgx, D17_TOF_SiO.hgx
    [fit]            # FitSettings: every command that runs fits takes these
    km = 0.7
    kr = 0.9
    population = 24
    strategy = "rand_1_bin"
    polish = true

    [solve]          # SolveSettings: only `metagenx solve` uses these
    margin = 0.3
    grace = 15

Unknown tables or keys are refused, naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metagenx.engine.settings import FitSettings
from metagenx.errors import SettingsError
from metagenx.solve.settings import SOLVE_KEYS

FIT_KEYS = tuple(f.name for f in dataclasses.fields(FitSettings))


@dataclass(frozen=True)
class SettingsFile:
    """The tables of a settings file: ``fit`` (FitSettings keys) and ``solve`` (SolveSettings keys)."""

    fit: dict[str, Any] = field(default_factory=dict)
    solve: dict[str, Any] = field(default_factory=dict)
    path: str | None = None


def read_settings_file(path: str | os.PathLike[str]) -> SettingsFile:
    """Read and check a settings file; raise :class:`SettingsError` naming the file and what is wrong."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read the settings file {file}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{file.name} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"fit", "solve"})
    if unknown:
        raise SettingsError(
            f"{file.name}: unknown table [{unknown[0]}]; a settings file has [fit] and [solve]"
        )
    fit, solve = data.get("fit", {}), data.get("solve", {})
    for table, values, known in (("fit", fit, FIT_KEYS), ("solve", solve, SOLVE_KEYS)):
        if not isinstance(values, dict):
            raise SettingsError(f"{file.name}: [{table}] must be a table of settings")
        bad = sorted(set(values) - set(known))
        if bad:
            raise SettingsError(
                f"{file.name}: unknown [{table}] setting {bad[0]!r}; known: {', '.join(known)}"
            )
    try:
        FitSettings.from_dict(fit)
    except TypeError as exc:  # pragma: no cover - keys are checked above
        raise SettingsError(f"{file.name}: {exc}") from exc
    except SettingsError as exc:
        raise SettingsError(f"{file.name}: {exc}") from exc
    return SettingsFile(fit=dict(fit), solve=dict(solve), path=str(file))


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SettingsError(f"cannot write the non-finite setting value {value}")
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise SettingsError(f"cannot write the setting value {value!r} to a settings file")


def settings_toml(fit: dict[str, Any], solve: dict[str, Any], comment: str = "") -> str:
    """The text of a settings file; ``None`` values are left out (they mean "the file's own")."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for table, values in (("fit", fit), ("solve", solve)):
        lines += ["", f"[{table}]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items() if value is not None]
    return "\n".join(lines).lstrip("\n") + "\n"


def write_settings_file(
    path: str | os.PathLike[str], fit: dict[str, Any], solve: dict[str, Any], comment: str = ""
) -> Path:
    """Write a settings file atomically; it reads back to the same values."""
    from metagenx.outputs.files import write_atomic

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(target, settings_toml(fit, solve, comment).encode("utf-8"))
