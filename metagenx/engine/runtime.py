"""Prepare a process to run GenX: pinned thread counts, quiet logging, lazy import.

GenX keeps process-wide state (numpy's global RNG, a global config, scattering
tables), so a process runs one fit at a time; parallelism comes from processes.
Thread pools of numerical libraries are pinned to one thread here, before numpy
or numba are imported by GenX, so that parallel fit processes never oversubscribe
the cores.
"""

from __future__ import annotations

import logging
import os
import sys
from functools import cache
from types import ModuleType

THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(environ: dict[str, str] | os._Environ[str] | None = None) -> None:
    """Set every numerical thread-pool variable to 1 where the user has not set it."""
    target = os.environ if environ is None else environ
    for name in THREAD_VARIABLES:
        target.setdefault(name, "1")


@cache
def genx() -> GenxModules:
    """Import GenX once per process, after pinning threads and quieting its logging; GenX's
    unpickling of ``.hgx`` values is guarded (:mod:`metagenx.engine.gx.hdf5_pickles`)."""
    pin_threads()
    os.environ.setdefault("MPLBACKEND", "Agg")
    if not os.environ.get("NUMBA_CACHE_DIR"):  # before numba reads its configuration
        from metagenx.engine.kernels import cache_dir

        os.environ["NUMBA_CACHE_DIR"] = str(cache_dir())
    # GenX logs every generation at INFO level through the root logger.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    from genx import diffev, fom_funcs, model_control, version
    from genx import exceptions as genx_exceptions
    from genx.core import config as genx_config
    from genx.core import h5_support

    from metagenx.engine.gx.hdf5_pickles import guard_genx

    guard_genx(h5_support)  # an .hgx file's pickled values are read through the allowlist
    from metagenx.engine.libraryfixes import install

    install()  # GenX libraries that no longer run with today's numpy as they are
    from metagenx.engine.kernels import set_flag

    # numpy kernels until a fit chooses (metagenx.engine.kernels), unless already imported with numba
    if "genx.models.lib.paratt" not in sys.modules:
        set_flag(False)
    return GenxModules(diffev, model_control, version, genx_config, genx_exceptions, fom_funcs)


class GenxModules:
    """The GenX modules metagenx talks to, imported together."""

    def __init__(
        self,
        diffev: ModuleType,
        model_control: ModuleType,
        version: ModuleType,
        config: ModuleType,
        exceptions: ModuleType,
        fom_funcs: ModuleType,
    ) -> None:
        self.diffev = diffev
        self.model_control = model_control
        self.version: str = version.__version__
        self.config = config
        self.exceptions = exceptions
        self.fom_funcs = fom_funcs


def examples_dir() -> str:
    """Folder of the example models shipped inside the installed GenX package."""
    import importlib.util

    spec = importlib.util.find_spec("genx")
    if spec is None or spec.origin is None:  # pragma: no cover - genx3server is a dependency
        raise RuntimeError("GenX (genx3server) is not installed")
    return os.path.join(os.path.dirname(spec.origin), "examples")
