"""A GenX model loaded headless: its parameters, data, script and optimizer settings.

:class:`GenxModel` wraps GenX's ``ModelController``. It never modifies the file it
was loaded from; :meth:`GenxModel.save` writes a new ``.hgx`` or ``.gx``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metagenx.engine.files import ModelFormat, check_writable, model_format
from metagenx.engine.runtime import genx
from metagenx.errors import ModelContentError, ModelFileError, ModelScriptError, OutputError


@dataclass(frozen=True)
class ParameterInfo:
    """One row of GenX's parameter grid."""

    row: int
    name: str
    value: float
    fit: bool
    min: float
    max: float
    error: str


@dataclass(frozen=True)
class DatasetInfo:
    """One data set of the model; ``points`` counts the (x, y) pairs after GenX's commands."""

    index: int
    name: str
    points: int
    use: bool


class GenxModel:
    """A GenX model file loaded into its own ``ModelController`` and ``DiffEv`` optimizer."""

    def __init__(self, controller: Any, path: Path, file_format: ModelFormat, notes: list[str]) -> None:
        self.controller = controller
        self.path = path
        self.format = file_format
        self.notes = notes
        """Human notes on how the file was read (e.g. GenX 2 script mending)."""

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GenxModel:
        """Load a ``.hgx`` or ``.gx`` file. Raises :class:`ModelFileError` for unreadable files."""
        file = Path(path)
        file_format = model_format(file)
        modules = genx()
        controller = modules.model_control.ModelController(modules.diffev.DiffEv())
        notes: list[str] = []
        if file_format is ModelFormat.HGX:
            load_hgx(controller, file)
            notes += keep_differential_evolution(controller, modules)
        else:
            from metagenx.engine.gx import load_gx_into

            notes = load_gx_into(controller, file)
        return cls(controller, file, file_format, notes)

    # -- what the model holds ------------------------------------------------------------
    @property
    def model(self) -> Any:
        return self.controller.get_model()

    @property
    def optimizer(self) -> Any:
        return self.controller.optimizer

    @property
    def script(self) -> str:
        return str(self.model.get_script())

    @property
    def fom_name(self) -> str:
        return str(self.model.fom_func.__name__)

    @property
    def parameters(self) -> list[ParameterInfo]:
        """Every named row of the parameter grid, in grid order."""
        rows = []
        for index, row in enumerate(self.model.parameters.data):
            if not row[0]:
                continue
            rows.append(
                ParameterInfo(
                    row=index,
                    name=str(row[0]),
                    value=float(row[1]),
                    fit=bool(row[2]),
                    min=float(row[3]),
                    max=float(row[4]),
                    error=str(row[5]),
                )
            )
        return rows

    @property
    def fit_parameters(self) -> list[ParameterInfo]:
        return [p for p in self.parameters if p.fit]

    @property
    def datasets(self) -> list[DatasetInfo]:
        return [
            DatasetInfo(index=i, name=str(d.name), points=len(d.x), use=bool(d.use))
            for i, d in enumerate(self.model.data)
        ]

    @property
    def optimizer_settings(self) -> dict[str, Any]:
        """GenX's optimizer settings as stored in the file."""
        opt = self.optimizer.opt
        return {name: getattr(opt, name) for name in opt.__dataclass_fields__}

    # -- changing it ---------------------------------------------------------------------
    def set_parameter(
        self,
        name: str,
        *,
        value: float | None = None,
        fit: bool | None = None,
        min: float | None = None,
        max: float | None = None,
    ) -> None:
        """Change one row of the parameter grid; raise :class:`ModelContentError` for unknown names."""
        for row in self.model.parameters.data:
            if row[0] == name:
                for column, new in ((1, value), (2, fit), (3, min), (4, max)):
                    if new is not None:
                        row[column] = new
                return
        known = ", ".join(p.name for p in self.parameters)
        raise ModelContentError(f"parameter {name!r} is not in the model; its parameters are: {known}")

    def set_fit_values(self, values: np.ndarray | list[float]) -> None:
        """Write values of the fitted parameters (grid order) into the grid."""
        self.model.parameters.set_value_pars([float(v) for v in values])

    # -- running it ----------------------------------------------------------------------
    def compile(self) -> None:
        """Execute the model script in its own module; raise :class:`ModelScriptError` if it fails."""
        errors = genx().exceptions
        try:
            self.model.compile_script()
        except errors.ModelError as exc:
            raise script_error("the model script failed to run", exc, self.script) from None

    def simulate(self, *, recompile: bool = True) -> float:
        """Simulate every data set with the grid's values; return the FOM."""
        errors = genx().exceptions
        try:
            self.model.simulate(compile=recompile)
        except errors.ModelError as exc:
            context = (
                "the model script failed to run" if exc.where == 0 else "the model's Sim() function failed"
            )
            raise script_error(context, exc, self.script) from None
        except errors.ParameterError as exc:
            raise ModelContentError(f"parameter grid: {parameter_error_message(exc)}") from None
        except errors.FomError as exc:
            raise ModelScriptError(
                f"the figure of merit could not be computed: {last_line(str(exc))}"
            ) from None
        return float(self.model.fom)

    def check_fittable(self, use_boundaries: bool = True) -> None:
        """Raise :class:`ModelContentError` unless the model can be fitted as it stands."""
        fit_pars = self.fit_parameters
        if not fit_pars:
            raise ModelContentError(
                "no parameter is marked to fit; tick the Fit column of at least one row in GenX"
            )
        for p in fit_pars:
            if p.min > p.max:
                raise ModelContentError(f"parameter {p.name}: min {p.min:g} is larger than max {p.max:g}")
            if use_boundaries and not p.min <= p.value <= p.max:
                raise ModelContentError(
                    f"parameter {p.name}: start value {p.value:g} lies outside its bounds"
                    f" [{p.min:g}, {p.max:g}]"
                )
        used = [d for d in self.datasets if d.use]
        if not used:
            raise ModelContentError("no data set is marked to be used in the fit")
        for d in used:
            if d.points == 0:
                raise ModelContentError(
                    f"data set {d.index} ({d.name!r}) has 0 points; load data into it or untick 'use'"
                )

    # -- writing it ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as ``.hgx`` (HDF5) or ``.gx`` (GenX 3 zip), chosen by the extension."""
        target = check_writable(path)
        if target.suffix.lower() not in (".hgx", ".gx"):
            raise OutputError(f"output file {target.name} must end in .hgx or .gx")
        try:
            self.controller.save_file(str(target))
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
        return target


def keep_differential_evolution(controller: Any, modules: Any) -> list[str]:
    """Put GenX's differential evolution back when the file named another of GenX's solvers.

    GenX swaps in the solver a file names when it can import it (its bumps solver, once bumps is
    installed); metagenx fits with differential evolution, whose settings GenX keeps in the
    file's configuration either way. Returns the note saying so, or nothing."""
    chosen = type(controller.optimizer).__name__
    if chosen == "DiffEv":
        return []
    callbacks = controller.optimizer.get_callbacks()
    controller.optimizer = modules.diffev.DiffEv()
    controller.optimizer.set_callbacks(callbacks)
    controller.ReadConfig()
    return [
        f"the file's solver is GenX's {chosen}; metagenx fits with GenX's differential evolution"
        " and the file's settings for it"
    ]


def load_hgx(controller: Any, file: Path) -> None:
    """Load an HDF5 model file into ``controller``, translating GenX's failures."""
    import h5py

    try:
        with h5py.File(file, "r") as handle:
            missing = [g for g in ("current", "current/data", "current/parameters") if g not in handle]
    except OSError as exc:
        raise ModelFileError(
            f"{file.name} is not a readable HDF5 file (truncated or corrupt?): {exc}"
        ) from exc
    if missing:
        raise ModelFileError(f"{file.name} is HDF5 but not a GenX model: it lacks the group {missing[0]!r}")
    try:
        controller.load_file(str(file))
    except ModelFileError as exc:  # a pickled value refused by the allowlist (nothing ran)
        raise type(exc)(f"{file.name}: {exc}") from None
    except MemoryError:
        raise  # the file asks for more memory than this process has: say so, not "cannot read"
    except Exception as exc:  # GenX raises bare KeyError/OSError/ValueError on damaged files
        raise ModelFileError(f"GenX could not read {file.name}: {type(exc).__name__}: {exc}") from exc


TRACEBACK_LINE = re.compile(r'File "<string>", line (\d+)')


def script_error(context: str, exc: BaseException | str, script: str) -> ModelScriptError:
    """Turn a traceback text (e.g. GenX's ModelError) into a short message naming the script line."""
    text = str(exc)
    lines = TRACEBACK_LINE.findall(text)
    line = int(lines[-1]) if lines else None
    message = f"{context}: {last_line(text)}"
    if line is not None:
        source = script.splitlines()[line - 1].strip() if 0 < line <= len(script.splitlines()) else ""
        message += f" (script line {line}: {source})" if source else f" (script line {line})"
    return ModelScriptError(message, line)


def last_line(text: str) -> str:
    """The last non-empty line of a traceback: the exception type and message."""
    stripped = [s.strip() for s in text.strip().splitlines() if s.strip()]
    return stripped[-1] if stripped else text


def parameter_error_message(exc: BaseException) -> str:
    """GenX's ParameterError text, reduced to its first line plus Python's own error line."""
    lines = [s.strip() for s in str(exc).splitlines() if s.strip() and s.strip() != "Python error output:"]
    if not lines:
        return str(exc)
    return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"
