"""parameters.csv: one row per fitted parameter, numbers that read back exactly."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math

from metagenx.engine.result import FitResult, ParameterResult
from metagenx.outputs.tables import PARAMETER_COLUMNS, parameters_csv


def rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == PARAMETER_COLUMNS
    return list(reader)


def test_every_fitted_parameter_reads_back_exactly(result: FitResult) -> None:
    table = rows(parameters_csv(result))
    assert [row["name"] for row in table] == [p.name for p in result.parameters]
    for row, parameter in zip(table, result.parameters, strict=True):
        for column in ("value", "start", "min", "max"):
            assert float(row[column]) == getattr(parameter, column)
        assert float(row["relative_position"]) == parameter.relative_position
        assert 0.0 <= float(row["relative_position"]) <= 1.0
        assert row["error_low"] == row["error_high"] == ""  # no error bars were asked for


def test_error_bars_awkward_names_and_non_finite_numbers(result: FitResult) -> None:
    parameters = [
        ParameterResult("cp.setThick", 0.1 + 0.2, 0.3, 0.0, 1.0, error_low=-1e-17, error_high=2.5e-300),
        ParameterResult('odd, "quoted" name', math.nan, math.inf, -math.inf, 0.0),
        ParameterResult("flat", 5.0, 5.0, 5.0, 5.0),
    ]
    table = rows(parameters_csv(dataclasses.replace(result, parameters=parameters)))
    assert [row["name"] for row in table] == [p.name for p in parameters]
    assert float(table[0]["value"]) == 0.1 + 0.2  # 0.30000000000000004, not 0.3
    assert float(table[0]["error_low"]) == -1e-17
    assert float(table[0]["error_high"]) == 2.5e-300
    assert math.isnan(float(table[1]["value"]))
    assert float(table[1]["start"]) == math.inf
    assert float(table[1]["min"]) == -math.inf
    assert float(table[2]["relative_position"]) == 0.5  # zero-width range sits in the middle


def test_no_parameters_gives_just_the_header(result: FitResult) -> None:
    assert parameters_csv(dataclasses.replace(result, parameters=[])) == ",".join(PARAMETER_COLUMNS) + "\n"


def test_doubtful_values_are_flagged_in_the_table_and_the_json(result: FitResult) -> None:
    parameters = [
        ParameterResult("SiO.setD", -3.0, 10.0, 0.0, 2000.0),
        ParameterResult("SiO.setSigma", 0.001, 5.0, 0.0, 20.0),
        ParameterResult("Sub.setDens", 0.05, 0.05, 0.0, 0.1),
        ParameterResult("inst.setI0", 2.5, 1.0, 0.5, 2.0),
    ]
    flagged = dataclasses.replace(result, parameters=parameters)
    table = {row["name"]: row["flags"] for row in rows(parameters_csv(flagged))}
    assert table == {
        "SiO.setD": "below min; negative thickness",
        "SiO.setSigma": "at min",
        "Sub.setDens": "",
        "inst.setI0": "above max",
    }
    written = json.loads(flagged.to_json())
    assert [p["flags"] for p in written["parameters"]] == [
        ["below min", "negative thickness"],
        ["at min"],
        [],
        ["above max"],
    ]
    assert FitResult.from_json(flagged.to_json()) == flagged, "flags are computed, not read back"
    assert flagged.flags == {
        "SiO.setD": ["below min", "negative thickness"],
        "SiO.setSigma": ["at min"],
        "inst.setI0": ["above max"],
    }
