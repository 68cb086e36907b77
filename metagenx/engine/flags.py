"""Honest values: flags for a fitted value that sits at a bound, outside its bounds, or is unphysical.

Pure computation from a parameter's name, value and bounds, so every consumer (result JSON,
``parameters.csv``, the terminal table, a solve's notes, the dashboard) flags alike, and a
result read back from anywhere can be flagged again without trusting what came with it.

Flags, each a short text:

* ``at min`` / ``at max``: the value lies within :data:`EDGE` of the bound range from a
  bound: the bound, not the data, may be what stopped it;
* ``below min`` / ``above max``: the value left its bounds, which GenX allows when the model
  file does not enforce them (its optimizer's "use boundaries" is off);
* ``negative thickness`` / ``negative roughness`` / ``negative density``: physically
  impossible values of the layer attributes GenX's reflectivity models call ``d``,
  ``sigma`` (``sigmai``, ``sigmar``) and ``dens``, recognised from the parameter's name
  (``SiO.setD``, ``Sub.setSigma``, ``Layer.setDens``).
"""

from __future__ import annotations

import math
import re

EDGE = 0.01
"""A value within this fraction of its bound range from a bound is flagged as at the bound."""

UNPHYSICAL_WHEN_NEGATIVE = {
    "d": "thickness",
    "sigma": "roughness",
    "sigmai": "roughness",
    "sigmar": "roughness",
    "dens": "density",
}
"""GenX layer attributes (lower case) that must not be negative, and what they are."""

SETTER = re.compile(r"\.set([A-Za-z_][A-Za-z0-9_]*)$")


def attribute(name: str) -> str | None:
    """The layer attribute a GenX parameter name sets, lower case: ``SiO.setD`` → ``d``."""
    match = SETTER.search(name.strip())
    return None if match is None else match.group(1).lower()


def parameter_flags(name: str, value: float, low: float, high: float) -> list[str]:
    """Flags of one fitted value (see the module doc); empty when nothing is wrong."""
    flags: list[str] = []
    if not math.isfinite(value):
        return ["not a number"]
    if math.isfinite(low) and value < low:
        flags.append("below min")
    elif math.isfinite(high) and value > high:
        flags.append("above max")
    elif math.isfinite(low) and math.isfinite(high) and high > low:
        position = (value - low) / (high - low)
        if position <= EDGE:
            flags.append("at min")
        elif position >= 1 - EDGE:
            flags.append("at max")
    kind = UNPHYSICAL_WHEN_NEGATIVE.get(attribute(name) or "")
    if kind is not None and value < 0:
        flags.append(f"negative {kind}")
    return flags


def explain(flag: str) -> str:
    """A sentence for people about ``flag``."""
    if flag in ("below min", "above max"):
        return f"{flag}: the model file does not enforce its bounds, so the fit left them"
    if flag in ("at min", "at max"):
        return f"{flag}: the bound may be what stopped the value; consider widening it"
    if flag.startswith("negative "):
        return f"{flag}: physically impossible; bound it at 0 in the model"
    return flag
