"""The fixed names of a fit's output files (beside its fitted model), for writers and finders alike,
and the names of a study's job folders."""

from __future__ import annotations

import re

RESULT_JSON = "result.json"
PARAMETERS_CSV = "parameters.csv"
FIT_PNG = "fit.png"
FOM_PNG = "fom.png"
FIT_SVG = "fit.svg"
FOM_SVG = "fom.svg"
FIT_ORT = "fit.ort"
SOLVE_JSON = "solve.json"
CORNER_PNG = "corner.png"
CORNER_SVG = "corner.svg"
BAND_PNG = "band.png"
BAND_SVG = "band.svg"
POSTERIOR_DRAWS_CSV = "posterior_draws.csv"
POSTERIOR_FILES = (CORNER_PNG, CORNER_SVG, BAND_PNG, BAND_SVG, POSTERIOR_DRAWS_CSV)
"""What a fit with a sampled posterior writes besides the usual files."""

JOB_LABEL_CHARS = 24
"""Longest label part of a job's folder name."""
UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")
DATA_SUFFIX = re.compile(r"\.(dat|txt|csv|ort|xy|xye|asc|out|gz)$", re.IGNORECASE)


def job_folder_name(number: int, label: str) -> str:
    """A short, file-system-safe folder name for job ``number``: ``001-T100K``, ``012-km=0.7_r2``.

    The number (at least 3 digits) keeps names unique; the label's words are kept while they fit
    in :data:`JOB_LABEL_CHARS` characters, a data file's suffix dropped (``T100K.dat`` → ``T100K``).
    Only letters, digits and ``._=+-`` remain; an empty label gives ``fit``.
    """
    words = [UNSAFE.sub("_", DATA_SUFFIX.sub("", word)).strip("._") for word in label.split()]
    words = [w for w in words if w]
    short = words[0][:JOB_LABEL_CHARS] if words else "fit"
    for word in words[1:]:
        if len(short) + 1 + len(word) > JOB_LABEL_CHARS:
            break
        short = f"{short}_{word}"
    return f"{number:03d}-{short}"
