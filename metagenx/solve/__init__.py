"""Time-to-solution: raced multi-start solves with local polish, and tuning of the optimizer itself.

Entry points: :func:`solve` (one model, the best fit and how sure it is),
:func:`metagenx.solve.local.tune` (Optuna over the optimizer's settings for a class of models),
and settings files (:func:`read_settings_file`, :func:`write_settings_file`). Both run as jobs
on the controller: importing this package registers their coordinators
(:mod:`metagenx.solve.coordinators`). The polish of converged starts runs in the runners
(:mod:`metagenx.runner.polish`). The tune modules are imported on use only.
"""

from __future__ import annotations

from metagenx.solve import coordinators as coordinators
from metagenx.solve.evidence import Evidence, evidence
from metagenx.solve.local import solve
from metagenx.solve.racing import Race, RacingRule, StopDecision
from metagenx.solve.result import ParameterSpread, SolveResult, StartSummary
from metagenx.solve.settings import START_DEFAULTS, SolveSettings, start_settings
from metagenx.solve.settings_file import SettingsFile, read_settings_file, write_settings_file
from metagenx.solve.starts import Model, SolveAbandoned, SolveError, SolveProgress

__all__ = [
    "START_DEFAULTS",
    "Evidence",
    "Model",
    "ParameterSpread",
    "Race",
    "RacingRule",
    "SettingsFile",
    "SolveAbandoned",
    "SolveError",
    "SolveProgress",
    "SolveResult",
    "SolveSettings",
    "StartSummary",
    "StopDecision",
    "evidence",
    "read_settings_file",
    "solve",
    "start_settings",
    "write_settings_file",
]
