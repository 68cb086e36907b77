"""The fixed names of a fit's output files (beside its fitted model), for writers and finders alike."""

from __future__ import annotations

RESULT_JSON = "result.json"
PARAMETERS_CSV = "parameters.csv"
FIT_PNG = "fit.png"
FOM_PNG = "fom.png"
SOLVE_JSON = "solve.json"
