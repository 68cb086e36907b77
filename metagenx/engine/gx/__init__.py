"""Read GenX ``.gx`` files (GenX 2 and GenX 3) safely: no pickle code of the file ever runs.

``.gx`` files are zip archives of Python pickles; GenX 2 wrote them under Python 2
with classes GenX 3 no longer has. This package reads them with a restricted
unpickler and inert stand-in classes, checks every value, mends old model scripts,
and fills a GenX 3 ``ModelController``:

>>> notes = load_gx_into(controller, Path("old_fit.gx"))  # doctest: +SKIP
>>> notes[0]  # doctest: +SKIP
'GenX 2 file (Python 2 pickles), read safely and converted to GenX 3'

Modules, one job each: :mod:`~metagenx.engine.gx.archive` (bounded zip reading),
:mod:`~metagenx.engine.gx.unpickler` and :mod:`~metagenx.engine.gx.standins` (restricted
unpickling), :mod:`~metagenx.engine.gx.content` and :mod:`~metagenx.engine.gx.options` (checked
values), :mod:`~metagenx.engine.gx.mending` (script fixes), :mod:`~metagenx.engine.gx.reader`
(all of that for one file), :mod:`~metagenx.engine.gx.mapping` (into GenX 3),
:mod:`~metagenx.engine.gx.fidelity` (checks after a conversion).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metagenx.engine.gx.archive import DEFAULT_LIMITS, ArchiveLimits
from metagenx.engine.gx.reader import GENX2_NOTE, GxContent, read_gx


def load_gx_into(controller: Any, path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[str]:
    """Fill GenX's ``controller`` with the ``.gx`` file at ``path``; return notes for the user.

    Promises: no code stored in the file ran (the model script is only stored, as
    GenX does on load); data, parameter grid, script, FOM function, FOM and optimizer
    settings are set; ``controller.get_model().filename`` is the file's absolute path.
    Notes say when the file is from GenX 2 and what was mended. Raises
    :class:`~metagenx.errors.UnsafeModelFileError` (a pickle names a class off the
    allowlist) or :class:`~metagenx.errors.ModelFileError` (damaged file).
    """
    from metagenx.engine.gx.mapping import apply_content

    content = read_gx(Path(path), limits)
    notes = list(content.notes)
    notes.extend(apply_content(controller, content))
    return notes


def is_genx2(notes: list[str]) -> bool:
    """Whether ``notes`` from :func:`load_gx_into` say the file was saved by GenX 2."""
    return GENX2_NOTE in notes


__all__ = [
    "DEFAULT_LIMITS",
    "GENX2_NOTE",
    "ArchiveLimits",
    "GxContent",
    "is_genx2",
    "load_gx_into",
    "read_gx",
]
