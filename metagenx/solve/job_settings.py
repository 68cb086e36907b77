"""Settings of a stored job: a plain fit's, or a solve's (the fit settings plus a ``solve`` table).

A job whose settings hold a ``solve`` mapping is a *solve job*: the controller runs it as
raced starts (:func:`metagenx.solve.solve`) on its own executor rather than as one fit. The
other keys are then the starts' fit settings, with :data:`~metagenx.solve.settings.START_DEFAULTS`
under what the user gave. Everything is checked here, so a bad value is refused when the job
is submitted (naming the key), not when it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metagenx.engine.settings import FitSettings
from metagenx.errors import SettingsError
from metagenx.solve.settings import SolveSettings, start_settings

SOLVE_KEY = "solve"
TUNE_KEY = "tune"
"""A tune job's settings: ``{"tune": TuneSettings keys, "models": [model files]}`` (checked on submission)."""


def parse_job_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Complete, checked job settings from what a user gave; raise :class:`SettingsError`.

    ``{"solve": {...}}`` (or ``{"solve": true}`` for the defaults) makes a solve job; its
    table takes the keys of :class:`SolveSettings` except ``fit``.
    """
    given = dict(values)
    solve = given.pop(SOLVE_KEY, None)
    if solve is None or solve is False:
        return FitSettings.from_dict(given).to_dict()
    if solve is True:
        solve = {}
    if not isinstance(solve, Mapping):
        raise SettingsError(
            'settings "solve" must be an object of solve settings (e.g. {"budget": 120}) or true'
        )
    if "fit" in solve:
        raise SettingsError('settings "solve" takes racing and budget keys; put fit settings beside it')
    fit = start_settings(given)
    checked = SolveSettings.from_dict({**solve, "fit": fit}).to_dict()
    checked.pop("fit")
    return {**fit.to_dict(), SOLVE_KEY: checked}


def complete_job_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Stored form of a job's settings: complete, so equal settings give equal job keys."""
    if TUNE_KEY in settings:
        return dict(settings)
    return parse_job_settings(settings)


def is_solve(settings: Mapping[str, Any]) -> bool:
    """Whether stored job settings make a solve job."""
    return isinstance(settings.get(SOLVE_KEY), Mapping)


def fit_part(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The fit settings of a job (a solve job's starts' settings)."""
    return {k: v for k, v in settings.items() if k != SOLVE_KEY}


def solve_settings_of(settings: Mapping[str, Any], *, max_budget: float | None = None) -> SolveSettings:
    """The :class:`SolveSettings` of a solve job; its budget capped at ``max_budget`` s if given."""
    table = dict(settings.get(SOLVE_KEY) or {})
    if max_budget is not None:
        table["budget"] = min(float(table.get("budget", SolveSettings.budget)), max_budget)
    return SolveSettings.from_dict({**table, "fit": FitSettings.from_dict(fit_part(settings))})
