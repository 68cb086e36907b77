"""The terminal's parameter table: where each value sits, and a flags column for doubtful values."""

from __future__ import annotations

import dataclasses

from rich.console import Console

from metagenx.cli.tables import parameter_table, position_bar
from metagenx.engine.result import FitResult, ParameterResult


def rendered(result: FitResult) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(parameter_table(result))
    return console.export_text()


def test_position_bar_shows_bounds_and_values_outside_them() -> None:
    assert position_bar(0.5, 5) == "──●──"
    assert position_bar(0.0, 5) == "|────"
    assert position_bar(1.0, 5) == "────|"
    assert position_bar(-0.2, 5) == "◀────"
    assert position_bar(1.7, 5) == "────▶"


def test_flags_column_names_what_is_doubtful(result: FitResult) -> None:
    inside = [ParameterResult("SiO.setD", 1205.0, 1200.0, 1000.0, 1400.0)]
    assert "flags" not in rendered(dataclasses.replace(result, parameters=inside))
    parameters = [
        ParameterResult("SiO.setD", 1205.0, 1200.0, 1000.0, 1400.0),
        ParameterResult("SiO.setSigma", -2.0, 1.0, 0.0, 20.0),
    ]
    text = rendered(dataclasses.replace(result, parameters=parameters))
    row = next(line for line in text.splitlines() if "SiO.setSigma" in line)
    assert "below min, negative roughness" in row and "◀" in row
    assert "flags" in text
