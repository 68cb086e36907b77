"""Flags of doubtful fitted values: at a bound, outside the bounds, unphysical."""

from __future__ import annotations

import math

import pytest

from metagenx.engine.flags import attribute, explain, parameter_flags


@pytest.mark.parametrize(
    ("name", "value", "low", "high", "expected"),
    [
        ("SiO.setD", 1205.0, 1000.0, 1400.0, []),
        ("SiO.setD", 1000.5, 1000.0, 1400.0, ["at min"]),
        ("SiO.setD", 1399.0, 1000.0, 1400.0, ["at max"]),
        ("SiO.setD", 990.0, 1000.0, 1400.0, ["below min"]),
        ("inst.setI0", 3.0, 0.5, 2.0, ["above max"]),
        ("Sub.setSigma", -0.4, -5.0, 10.0, ["negative roughness"]),
        ("Film.setSigmar", -1.0, -1.0, 10.0, ["at min", "negative roughness"]),
        ("Layer.setDens", -0.01, -1.0, 1.0, ["negative density"]),
        ("cp.setThickness", -1.0, -2.0, 2.0, []),
        ("flat", 5.0, 5.0, 5.0, []),
        ("SiO.setD", math.nan, 0.0, 1.0, ["not a number"]),
    ],
)
def test_flags(name: str, value: float, low: float, high: float, expected: list[str]) -> None:
    assert parameter_flags(name, value, low, high) == expected


def test_the_attribute_comes_from_the_setter_name() -> None:
    assert attribute("SiO.setD") == "d"
    assert attribute(" Sub.setSigma ") == "sigma"
    assert attribute("cp.x") is None


def test_each_flag_is_explained() -> None:
    assert "does not enforce its bounds" in explain("below min")
    assert "widening" in explain("at max")
    assert "physically impossible" in explain("negative thickness")
