"""Studies: one template model expanded into many fits (starts, settings, parameters, data files).

From a study file::

    study = Study.load("study.toml")
    jobs = study.expand()

or the same in Python::

    study = Study(
        "film.hgx",
        repeats=10,
        settings={"max_generations": 500},
        grid={"km": [0.5, 0.7, 0.9]},
        parameters={"Fe.setD": {"min": 10, "max": 60}},
        data={"files": "data/T*.dat", "sequential": True, "order": "header:temperature"},
    )
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metagenx.engine.model import GenxModel
from metagenx.jobs import JobSpec
from metagenx.study.definition import StudyDefinition, load_study, study_from_dict
from metagenx.study.table import ResultTable

__all__ = ["JobSpec", "ResultTable", "Study", "StudyDefinition", "load_study", "study_from_dict"]


class Study:
    """A study of one template model; :attr:`definition` is the checked, frozen description.

    Arguments mirror the study file's keys (see :class:`StudyDefinition`); ``data`` may be
    a table (``{"files": [...], "dataset": 0, ...}``), a list of files or one glob
    pattern. Relative paths start at ``base_dir`` (default: the current folder). Raises
    :class:`metagenx.errors.StudyDefinitionError` naming the argument at fault.
    """

    def __init__(
        self,
        template: str | os.PathLike[str],
        *,
        name: str | None = None,
        repeats: int | None = None,
        seeds: Sequence[int] | None = None,
        seed: int = 0,
        settings: Mapping[str, Any] | None = None,
        grid: Mapping[str, Sequence[Any]] | None = None,
        random: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | Sequence[str] | str | None = None,
        description: str = "",
        base_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        values: dict[str, Any] = {"template": os.fspath(template), "seed": seed}
        optional = {
            "name": name,
            "repeats": repeats,
            "seeds": None if seeds is None else list(seeds),
            "settings": None if settings is None else dict(settings),
            "grid": None if grid is None else {k: list(v) for k, v in grid.items()},
            "random": None if random is None else dict(random),
            "parameters": None if parameters is None else dict(parameters),
            "data": plain_data(data),
            "description": description or None,
        }
        values.update({k: v for k, v in optional.items() if v is not None})
        self.definition = study_from_dict(values, base_dir if base_dir is not None else Path.cwd())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Study:
        """Read a study file (TOML or JSON); errors name the key and its line."""
        return cls.from_definition(load_study(path))

    @classmethod
    def from_definition(cls, definition: StudyDefinition) -> Study:
        study = cls.__new__(cls)
        study.definition = definition
        return study

    @property
    def name(self) -> str:
        return self.definition.name

    def expand(self, model: GenxModel | None = None) -> list[JobSpec]:
        """The study's jobs, checked against the template (loaded unless ``model`` is given)."""
        from metagenx.study.expand import expand

        return expand(self.definition, model)

    def run(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        workers: int | None = None,
        db: str | None = None,
        quiet: bool = False,
    ) -> ResultTable:
        """Run every fit on this machine's cores and return the results table (one dict per job;
        ``.to_frame()`` gives a pandas DataFrame, ``.folder`` the study folder).

        Outputs go to ``directory`` (default: ``./<study name>``, which is printed unless ``quiet``),
        as with ``metagenx study run``; running the same study again resumes it and reuses
        finished fits.
        """
        from metagenx.study.run import run_study

        folder = (Path(directory) if directory is not None else Path.cwd() / self.name).resolve()
        if not quiet:
            print(f"study {self.name!r}: the fits' files, tables and plots go to {folder}")
        results = run_study(self.definition, folder, workers=workers, db=db).results
        assert results is not None, "only an interrupted run has no results"
        return ResultTable(results.table, folder)

    def to_dict(self, *, absolute: bool = False) -> dict[str, Any]:
        """The study-file form (as JSON-ready dicts), see :meth:`StudyDefinition.to_dict`."""
        return self.definition.to_dict(absolute=absolute)

    def __repr__(self) -> str:
        return f"Study({self.definition.name!r}, template={self.definition.template!r})"


def plain_data(data: Mapping[str, Any] | Sequence[str] | str | None) -> Any:
    """``data`` as the study file writes it: a table, or a list of files/patterns."""
    if data is None or isinstance(data, str | Mapping):
        return dict(data) if isinstance(data, Mapping) else data
    return [os.fspath(f) for f in data]
