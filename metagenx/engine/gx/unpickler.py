"""A restricted unpickler for the members of ``.gx`` files (GenX 2 and GenX 3).

Python's pickle format can name any importable function and call it while loading,
so ``pickle.load`` on an untrusted file runs the file's code. This unpickler resolves
the names a pickle asks for against an explicit allowlist:

* numpy array, dtype and scalar reconstruction (wrapped: no object arrays, no
  large allocations from a few bytes of pickle),
* plain Python values (``complex``, ``set``, ``frozenset``, the ``datetime`` types of
  data set metadata) and the helpers Python 2 and 3 use to pickle plain objects
  (``copy_reg._reconstructor``, ``_codecs.encode``),
* GenX's own classes (``data.DataList``, ``parameters.Parameters``, ``diffev.DiffEv``
  and their parts, with or without GenX 3's ``genx.`` prefix), replaced by the inert
  stand-ins of :mod:`metagenx.engine.gx.standins`,
* names of functions that are only referred to, never called (``fom_funcs.log``,
  GenX 2's callback defaults): read as :class:`~metagenx.engine.gx.standins.GlobalReference`,
* ``getattr`` as GenX 2 pickled its optimizer's methods (``getattr(optimizer, "rand_1_bin")``):
  only for a GenX stand-in (or its class) and a method name on
  :data:`~metagenx.engine.gx.standins.REFERABLE_METHODS`, read as an inert
  :class:`~metagenx.engine.gx.standins.MethodReference`; nothing is looked up.

Anything else is refused with :class:`~metagenx.errors.UnsafeModelFileError` naming
``module.name``; it is never imported. After loading, every reachable object is
checked to be of an allowed type.
"""

from __future__ import annotations

import codecs
import datetime
import io
import math
import pickle
from typing import Any

import numpy as np

from metagenx.engine.gx.standins import (
    INERT_FUNCTIONS,
    REFERABLE_METHODS,
    STANDIN_CLASSES,
    DumpDictStandIn,
    GlobalReference,
    MethodReference,
    ParameterRowStandIn,
    StandIn,
)
from metagenx.errors import ModelFileError, UnsafeModelFileError

SAFE_DTYPE_KINDS = "biufcSU"
"""numpy dtype kinds a GenX file may hold: bool, integers, floats, complex, byte and text strings."""

MAX_RECONSTRUCT_ITEMS = 16
"""numpy pickles an array as an empty array plus a state; a pickle asking for more is refused."""


def _numpy_multiarray() -> Any:
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    return multiarray


MULTIARRAY = _numpy_multiarray()


class NdarrayToken:
    """Stands for ``numpy.ndarray`` as an argument of array reconstruction; not callable."""

    __slots__ = ()


NDARRAY = NdarrayToken()


class Refused(pickle.UnpicklingError):
    """An allowlisted function was asked for something it does not allow (object dtype, huge array…)."""


def safe_dtype(spec: Any, align: Any = False, copy: Any = False) -> np.dtype[Any]:
    """``numpy.dtype`` restricted to plain numeric and string types (no object, no records)."""
    if not isinstance(spec, str | bytes):
        raise Refused(f"numpy dtype from {type(spec).__name__} refused")
    text = spec.decode("latin1") if isinstance(spec, bytes) else spec
    dtype = np.dtype(text, bool(align), bool(copy))
    check_dtype(dtype)
    return dtype


def check_dtype(dtype: np.dtype[Any]) -> None:
    if dtype.hasobject or dtype.kind not in SAFE_DTYPE_KINDS or dtype.fields is not None:
        raise Refused(f"numpy dtype {dtype} refused: only plain numbers and strings are allowed")


def safe_reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> np.ndarray[Any, Any]:
    """numpy's ``_reconstruct`` for plain ``ndarray`` of (almost) no elements; the state fills it."""
    if subtype is not NDARRAY:
        raise Refused("numpy array reconstruction of a type other than numpy.ndarray refused")
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise Refused("numpy array reconstruction with a malformed shape refused")
    if math.prod(shape) > MAX_RECONSTRUCT_ITEMS:
        raise Refused("numpy array reconstruction of a large empty array refused")
    if not isinstance(dtype_code, str | bytes):
        raise Refused("numpy array reconstruction with a malformed dtype refused")
    array: np.ndarray[Any, Any] = MULTIARRAY._reconstruct(np.ndarray, shape, dtype_code)
    return array


def safe_scalar(dtype: Any, data: Any = None) -> Any:
    """numpy's ``scalar``: one number from its raw bytes."""
    if not isinstance(dtype, np.dtype):
        raise Refused("numpy scalar without a dtype refused")
    check_dtype(dtype)
    if not isinstance(data, str | bytes) or len(data) != dtype.itemsize:
        raise Refused("numpy scalar with malformed data refused")
    return MULTIARRAY.scalar(dtype, data)


def safe_frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray[Any, Any]:
    """numpy's ``_frombuffer`` (pickle protocol 5): an array over bytes that are in the file."""
    if not isinstance(buffer, bytes | bytearray) or not isinstance(dtype, np.dtype):
        raise Refused("numpy array from a buffer of unexpected type refused")
    check_dtype(dtype)
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise Refused("numpy array from a buffer with a malformed shape refused")
    if math.prod(shape) * dtype.itemsize != len(buffer) or order not in ("C", "F"):
        raise Refused("numpy array from a buffer of the wrong size refused")
    return np.frombuffer(bytes(buffer), dtype=dtype).reshape(shape, order=order).copy()


def safe_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3 uses it to pickle bytes: only latin-1 text to bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise Refused("_codecs.encode other than latin-1 text refused")
    return codecs.encode(text, "latin1")


def safe_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copy_reg._reconstructor`` for the stand-ins only (how Python pickles plain objects)."""
    if isinstance(cls, type) and issubclass(cls, StandIn) and base is object and state is None:
        return cls()
    if cls is ParameterRowStandIn and base is list:
        row = ParameterRowStandIn()
        row.extend(state or [])
        return row
    if cls is DumpDictStandIn and base is dict:
        mapping = DumpDictStandIn()
        mapping.update(state or {})
        return mapping
    raise Refused("copy_reg._reconstructor of an unexpected class refused")


def safe_getattr(owner: Any, name: Any, *default: Any) -> MethodReference:
    """``getattr`` as GenX 2 pickled a bound or unbound method: a reference to the method ``name``
    of a GenX stand-in (or its class), when both are on the allowlist; nothing is looked up."""
    kind = owner if isinstance(owner, type) else type(owner)
    genx_class = kind.genx_class if issubclass(kind, StandIn) else kind.__name__
    if default or not isinstance(name, str) or name not in REFERABLE_METHODS.get(genx_class, ()):
        raise Refused(
            f"getattr({genx_class}, {name!r}) refused: only the optimizer's own methods may be referred to"
        )
    return MethodReference(genx_class, name)


PLAIN: dict[str, Any] = {
    "builtins.complex": complex,
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "builtins.object": object,
    "builtins.getattr": safe_getattr,
    "datetime.datetime": datetime.datetime,
    "datetime.date": datetime.date,
    "datetime.time": datetime.time,
    "datetime.timedelta": datetime.timedelta,
    "datetime.timezone": datetime.timezone,
    "copyreg._reconstructor": safe_reconstructor,
    "_codecs.encode": safe_encode,
    "numpy.ndarray": NDARRAY,
    "numpy.dtype": safe_dtype,
    "numpy.core.multiarray._reconstruct": safe_reconstruct,
    "numpy._core.multiarray._reconstruct": safe_reconstruct,
    "numpy.core.multiarray.scalar": safe_scalar,
    "numpy._core.multiarray.scalar": safe_scalar,
    "numpy.core.numeric._frombuffer": safe_frombuffer,
    "numpy._core.numeric._frombuffer": safe_frombuffer,
}
"""Non-GenX names a ``.gx`` pickle may use, after Python 2 → 3 module renaming."""

PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}

ALLOWED_TYPES: tuple[type, ...] = (
    type(None),
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    list,
    tuple,
    dict,
    set,
    frozenset,
    np.ndarray,
    np.generic,
    np.dtype,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    datetime.tzinfo,
    StandIn,
    GlobalReference,
    MethodReference,
)


def resolve(module: str, name: str) -> tuple[Any, str] | None:
    """What the allowlist gives for ``module.name``, with the GenX-relative name; ``None`` if refused."""
    module = PY2_MODULES.get(module, module)
    qualified = f"{module}.{name}"
    if qualified in PLAIN:
        return PLAIN[qualified], qualified
    relative = qualified.removeprefix("genx.")
    if relative in STANDIN_CLASSES:
        return STANDIN_CLASSES[relative], qualified
    if relative in INERT_FUNCTIONS:
        return GlobalReference(module, name), qualified
    if module.removeprefix("genx.") == "fom_funcs" and name.isidentifier():
        return GlobalReference(module, name), qualified
    return None


class SafeUnpickler(pickle.Unpickler):
    """Loads one ``.gx`` member; ``find_class`` answers only from the allowlist."""

    def __init__(self, data: bytes, source: str) -> None:
        # latin-1 maps every Python 2 byte string to text one-to-one; numpy accepts that text for its buffers.
        super().__init__(io.BytesIO(data), encoding="latin1")
        self.source = source
        self.names: set[str] = set()
        """Every global the pickle asked for, as ``module.name``."""

    def find_class(self, module: str, name: str) -> Any:
        found = resolve(module, name)
        if found is None:
            raise UnsafeModelFileError(
                f"{self.source} asks for {module}.{name}, which is not on the list of classes a GenX "
                "file may contain; the file was refused and nothing in it was run"
            )
        target, qualified = found
        self.names.add(qualified)
        return target

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeModelFileError(f"{self.source} refers to external objects; GenX files never do. Refused.")


def safe_loads(data: bytes, source: str) -> tuple[Any, frozenset[str]]:
    """Unpickle ``data`` without running any of its code.

    Returns the object (built from plain values, numpy arrays and stand-ins) and the
    set of globals the pickle named. ``source`` names the member in messages, e.g.
    ``"film.gx member 'data'"``. Raises :class:`UnsafeModelFileError` for a name off
    the allowlist and :class:`ModelFileError` for a damaged pickle.
    """
    unpickler = SafeUnpickler(data, source)
    try:
        value = unpickler.load()
    except ModelFileError:
        raise
    except Refused as exc:
        raise UnsafeModelFileError(
            f"{source}: {exc}; the file was refused and nothing in it was run"
        ) from None
    except RecursionError:
        raise ModelFileError(f"{source} is nested too deeply to be a GenX pickle") from None
    except MemoryError:
        raise ModelFileError(f"{source} asks for more memory than a GenX file can need") from None
    except Exception as exc:  # pickle raises many types for damaged input
        raise ModelFileError(f"{source} is not a readable GenX pickle: {type(exc).__name__}: {exc}") from None
    check_types(value, source)
    return value, frozenset(unpickler.names)


def check_types(value: Any, source: str) -> None:
    """Raise :class:`UnsafeModelFileError` unless every reachable object is of an allowed type."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if not isinstance(item, ALLOWED_TYPES) or isinstance(item, type):
            raise UnsafeModelFileError(f"{source} contains an object of type {type(item).__name__}; refused")
        if isinstance(item, np.ndarray):
            if item.dtype.hasobject or item.dtype.kind not in SAFE_DTYPE_KINDS:
                raise UnsafeModelFileError(f"{source} contains a numpy array of dtype {item.dtype}; refused")
        elif isinstance(item, StandIn):
            stack.extend(item.state.values())
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
