"""Fit-setting options shared by every command that runs fits (``fit``, ``batch``, ``study run``...).

:func:`with_fit_settings` adds the options to a command and hands the command one
:class:`FitSettings` built from them, so each command lists them once and the
help text stays the same everywhere.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import click
import typer

from metagenx.engine.settings import (
    DEFAULT_MIN_SPREAD,
    DEFAULT_TOLERANCE,
    DEFAULT_UNCERTAINTY_BURN,
    DEFAULT_UNCERTAINTY_SAMPLES,
    DEFAULT_UNCERTAINTY_TIME,
    DEFAULT_WINDOW,
    STRATEGIES,
    FitSettings,
)

if TYPE_CHECKING:
    from metagenx.solve.settings_file import SettingsFile

PANEL = "Fit settings (default: the model file's own)"

Seed = Annotated[
    int | None,
    typer.Option("--seed", help="RNG seed; the same seed gives the same fit.", rich_help_panel=PANEL),
]
MaxTime = Annotated[
    float | None, typer.Option("--max-time", help="Wall-time budget per fit, s.", rich_help_panel=PANEL)
]
MaxGenerations = Annotated[
    int | None,
    typer.Option(
        "--max-generations",
        help="Generation cap (default: GenX's budget from the file).",
        rich_help_panel=PANEL,
    ),
]
MaxEvaluations = Annotated[
    int | None, typer.Option("--max-evals", help="Cap on FOM evaluations.", rich_help_panel=PANEL)
]
Population = Annotated[int | None, typer.Option("--pop", help="Population size.", rich_help_panel=PANEL)]
Km = Annotated[float | None, typer.Option("--km", help="DE mutation constant, 0–1.", rich_help_panel=PANEL)]
Kr = Annotated[float | None, typer.Option("--kr", help="DE crossover constant, 0–1.", rich_help_panel=PANEL)]
Strategy = Annotated[
    str | None,
    typer.Option("--strategy", help=f"DE strategy: {', '.join(STRATEGIES)}.", rich_help_panel=PANEL),
]
Tolerance = Annotated[
    float,
    typer.Option(
        "--tol",
        help="Convergence: stop when the best FOM improves by less than this fraction"
        " over --window generations (0: off).",
        rich_help_panel=PANEL,
    ),
]
Window = Annotated[
    int, typer.Option("--window", help="Convergence window, generations.", rich_help_panel=PANEL)
]
MinSpread = Annotated[
    float,
    typer.Option(
        "--min-spread",
        help="Convergence: stop when every parameter's population spread is below this"
        " fraction of its range (0: off).",
        rich_help_panel=PANEL,
    ),
]
GenxDefaults = Annotated[
    bool,
    typer.Option(
        "--genx-defaults",
        help="Run exactly GenX's own settings and stopping rule (fixed generation budget).",
        rich_help_panel=PANEL,
    ),
]
ErrorBars = Annotated[
    bool, typer.Option("--error-bars", help="Compute GenX's error bars after the fit.", rich_help_panel=PANEL)
]
Uncertainty = Annotated[
    bool,
    typer.Option(
        "--uncertainty",
        help="After the fit, sample the posterior with DREAM (bumps, through GenX): median, 68/95 %"
        " intervals, correlations, a corner plot and a band plot; the intervals go into the .hgx's"
        " error column. A solve samples once, around its answer.",
        rich_help_panel=PANEL,
    ),
]
UncertaintySamples = Annotated[
    int,
    typer.Option(
        "--uncertainty-samples", help="Posterior draws to collect after burn-in.", rich_help_panel=PANEL
    ),
]
UncertaintyBurn = Annotated[
    int,
    typer.Option("--uncertainty-burn", help="DREAM burn-in, generations.", rich_help_panel=PANEL),
]
UncertaintyTime = Annotated[
    float,
    typer.Option(
        "--uncertainty-time",
        help="Wall-time cap of the posterior sampling, s (it says so when the cap ends it).",
        rich_help_panel=PANEL,
    ),
]
SettingsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        help="TOML settings file (e.g. written by `metagenx tune`): its [fit] table replaces the"
        " defaults; options given on the command line override it.",
        rich_help_panel=PANEL,
    ),
]

SETTING_PARAMETERS = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
    for name, annotation, default in (
        ("seed", Seed, None),
        ("max_time", MaxTime, None),
        ("max_generations", MaxGenerations, None),
        ("max_evaluations", MaxEvaluations, None),
        ("population", Population, None),
        ("km", Km, None),
        ("kr", Kr, None),
        ("strategy", Strategy, None),
        ("tolerance", Tolerance, DEFAULT_TOLERANCE),
        ("window", Window, DEFAULT_WINDOW),
        ("min_spread", MinSpread, DEFAULT_MIN_SPREAD),
        ("genx_defaults", GenxDefaults, False),
        ("error_bars", ErrorBars, False),
        ("uncertainty", Uncertainty, False),
        ("uncertainty_samples", UncertaintySamples, DEFAULT_UNCERTAINTY_SAMPLES),
        ("uncertainty_burn", UncertaintyBurn, DEFAULT_UNCERTAINTY_BURN),
        ("uncertainty_time", UncertaintyTime, DEFAULT_UNCERTAINTY_TIME),
        ("settings_file", SettingsFileOption, None),
    )
]
SETTING_NAMES = [p.name for p in SETTING_PARAMETERS]
GIVEN = "given_settings"
"""A command with a parameter of this name also receives a :class:`SettingsFile` holding only the
settings the user gave (settings file, then explicit options) and the file's [solve] table."""

F = TypeVar("F", bound=Callable[..., Any])


def with_fit_settings(command: F) -> F:
    """Give ``command`` the fit-setting options; it receives them as ``settings: FitSettings``."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for name, p in signature.parameters.items() if name not in ("settings", GIVEN)]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in SETTING_NAMES if name in kwargs}
        given = given_settings(values)
        if GIVEN in signature.parameters:
            kwargs[GIVEN] = given
        return command(*args, settings=FitSettings(**{**values, **given.fit}), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=own + SETTING_PARAMETERS)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def given_settings(values: dict[str, Any]) -> SettingsFile:
    """The settings file's tables with the explicitly given options laid over its [fit] table.

    ``values`` (the option values, ``settings_file`` included) loses ``settings_file``. An
    option counts as given when it came from the command line (or, called without a click
    context, when it differs from its default).
    """
    from metagenx.solve.settings_file import SettingsFile, read_settings_file

    path = values.pop("settings_file", None)
    read = read_settings_file(path) if path is not None else SettingsFile()
    context = click.get_current_context(silent=True)
    defaults = {p.name: p.default for p in SETTING_PARAMETERS}
    explicit = {}
    for name, value in values.items():
        source = context.get_parameter_source(name) if context is not None else None
        if source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT) or (
            source is None and value != defaults.get(name)
        ):
            explicit[name] = value
    return SettingsFile(fit={**read.fit, **explicit}, solve=read.solve, path=read.path)
