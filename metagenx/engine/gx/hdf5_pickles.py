"""GenX's ``.hgx`` files may hold pickled values; read them through the allowlist, never ``pickle``.

GenX stores a value it has no HDF5 type for (a list in a data set's metadata, say) as a pickle in a
dataset marked ``genx_type = "dump"`` and unpickles it on load (``genx.core.h5_support``) — so a
crafted ``.hgx`` would run code as soon as GenX opened it. :func:`guard_genx` replaces the
``pickle`` GenX's HDF5 support uses by :class:`RestrictedPickle`: loading goes through
:func:`metagenx.engine.gx.unpickler.safe_loads` (plain values and numpy arrays only; anything else is
refused with :class:`~metagenx.errors.UnsafeModelFileError` and nothing runs); writing is unchanged.
"""

from __future__ import annotations

import pickle
from types import ModuleType
from typing import Any

from metagenx.engine.gx.standins import GlobalReference, StandIn
from metagenx.engine.gx.unpickler import safe_loads
from metagenx.errors import UnsafeModelFileError

SOURCE = "a pickled value in the .hgx file"


def loads_plain(data: bytes, **_options: Any) -> Any:
    """Unpickle a value of a ``.hgx`` file: plain Python values and numpy arrays only."""
    value, _ = safe_loads(bytes(data), SOURCE)
    check_plain(value)
    return value


def check_plain(value: Any) -> None:
    """Refuse GenX objects inside a stored value: a ``.hgx`` file pickles only plain metadata."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, StandIn | GlobalReference):
            raise UnsafeModelFileError(
                f"{SOURCE} holds a {type(item).__name__}; a .hgx file pickles plain values only. "
                "The file was refused and nothing in it was run"
            )
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)


class RestrictedPickle:
    """What GenX's HDF5 support sees as ``pickle``: :func:`loads_plain` to read, ``pickle.dumps`` to write."""

    loads = staticmethod(loads_plain)
    dumps = staticmethod(pickle.dumps)
    HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
    UnpicklingError = pickle.UnpicklingError


def guard_genx(h5_support: ModuleType) -> None:
    """Make GenX's HDF5 support (``genx.core.h5_support``) unpickle through the allowlist."""
    h5_support.pickle = RestrictedPickle  # type: ignore[attr-defined]


def guarded(h5_support: ModuleType) -> bool:
    """Whether :func:`guard_genx` is in place."""
    return getattr(h5_support, "pickle", None) is RestrictedPickle
