"""Apply a task's changes to a freshly loaded template: data files, parameter overrides, start values."""

from __future__ import annotations

from metagenx.engine.model import GenxModel
from metagenx.jobs import FitTask


def prepare_model(model: GenxModel, task: FitTask) -> None:
    """Load the task's data files into the template and apply its overrides and start values.

    Raises :class:`metagenx.errors.MetagenxError` subclasses naming the data file or
    parameter at fault.
    """
    if task.data:
        from metagenx.engine.data import load_into_dataset

        for assignment in task.data:
            load_into_dataset(
                model, assignment.dataset, assignment.path, assignment.loader, assignment.loader_options
            )
    for override in task.overrides:
        model.set_parameter(
            override.name, value=override.value, fit=override.fit, min=override.min, max=override.max
        )
    for name, value in task.start_values.items():
        row = next((p for p in model.parameters if p.name == name), None)
        if row is None:
            continue
        model.set_parameter(name, value=min(max(value, row.min), row.max))
