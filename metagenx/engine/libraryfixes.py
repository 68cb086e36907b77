"""Repairs of GenX's own model libraries where they no longer run as they are.

GenX 3.8's ``sxrd_mult`` calls ``np.int``, an alias of ``int`` that numpy 1.24 removed, so
every model on that library failed. When that library is imported (under either name GenX
imports it by, ``genx.models.sxrd_mult`` or a script's ``models.sxrd_mult``) it is given a
view of numpy that still answers the removed aliases with the builtins they always meant;
numpy itself is not changed, and nothing else sees the aliases.

GenX's ``models.lib`` package sets its numba flag to on each time it runs, which a script's
``from models.lib… import …`` does once more under that name; the package is given this
process's choice of kernels again when it runs (:mod:`metagenx.engine.kernels`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy

REMOVED_ALIASES: dict[str, type] = {
    "int": int,
    "float": float,
    "complex": complex,
    "bool": bool,
    "object": object,
}
"""numpy's aliases of builtins, removed in numpy 1.24, and what they were."""

NEEDS_ALIASES = frozenset({"genx.models.sxrd_mult", "models.sxrd_mult"})
"""GenX model libraries (under both names) that use the removed aliases."""
LIB_PACKAGES = frozenset({"genx.models.lib", "models.lib"})
"""GenX's model library package, whose kernel flag is set again when it runs
(:func:`metagenx.engine.kernels.apply_flag`)."""


class NumpyWithAliases(ModuleType):
    """numpy as a mended library sees it: everything of numpy, and the removed builtin aliases."""

    def __getattr__(self, name: str) -> Any:
        if name in REMOVED_ALIASES:
            return REMOVED_ALIASES[name]
        return getattr(numpy, name)


NUMPY_WITH_ALIASES = NumpyWithAliases("numpy")


class MendingLoader(importlib.abc.Loader):
    """Runs a library's own loader, then gives the module :data:`NUMPY_WITH_ALIASES` as ``np``."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        if module.__name__ in LIB_PACKAGES or module.__spec__.name in LIB_PACKAGES:  # type: ignore[union-attr]
            from metagenx.engine.kernels import apply_flag

            apply_flag(module)  # GenX's package sets its kernel flag back to numba when it runs
        else:
            module.np = NUMPY_WITH_ALIASES  # type: ignore[attr-defined]


class MendingFinder(importlib.abc.MetaPathFinder):
    """Finds the libraries of :data:`NEEDS_ALIASES` as the other finders do, with a :class:`MendingLoader`."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in NEEDS_ALIASES | LIB_PACKAGES:
            return None
        for finder in sys.meta_path:  # the finder that would find it (GenX maps ``models.*``)
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec: importlib.machinery.ModuleSpec | None = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and not isinstance(spec.loader, MendingLoader):
                    spec.loader = MendingLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Mend the libraries of :data:`NEEDS_ALIASES` whenever they are imported (or reloaded) in
    this process; idempotent. Call it before GenX's model libraries are imported."""
    if not any(isinstance(finder, MendingFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MendingFinder())
