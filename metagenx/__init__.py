"""metagenx: run GenX reflectivity fits headless, many at a time, fast and unattended.

Python API::

    import metagenx
    model = metagenx.load("film.hgx")
    result = metagenx.fit("film.hgx", seed=1, max_time=60)
    print(result.fom, result.values)
    answer = metagenx.solve("film.hgx", budget=120)
    answer.to_frame()          # parameters with their spread, a pandas DataFrame

``metagenx.solve`` is the function; the package of the same name is imported as
``from metagenx.solve import SolveSettings, SolveResult, ...``.
"""

from __future__ import annotations

import metagenx.solve as _solve_package  # noqa: F401  (first: its import binds metagenx.solve)
from metagenx.api import fit, load, solve  # then metagenx.solve is the function
from metagenx.engine.fit import Progress
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult, ParameterResult, StopReason
from metagenx.engine.settings import FitSettings
from metagenx.errors import MetagenxError
from metagenx.version import __version__

__all__ = [
    "FitResult",
    "FitSettings",
    "GenxModel",
    "MetagenxError",
    "ParameterResult",
    "Progress",
    "StopReason",
    "__version__",
    "fit",
    "load",
    "solve",
]
