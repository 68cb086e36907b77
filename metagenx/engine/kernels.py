"""GenX's two sets of model kernels, numba's JIT-compiled ones and plain numpy, and the choice per model.

GenX computes reflectivities (``lib.paratt``, ``lib.neutron_refl``) and instrument
resolution (``lib.instrument``) with numba kernels when its flag ``models.lib.USE_NUMBA``
is set at their import, and with numpy otherwise. Which is faster depends on the model
and the machine: per evaluation on one core, numba took 0.82× numpy's time on
X-ray_Reflectivity but 1.45× on SuperAdam_SiO. So a fit process times a few evaluations
with each (:func:`choose`) and keeps the faster, unless ``METAGENX_KERNELS`` forces one
(``numba`` or ``numpy``; default ``auto``). The choice is recorded in the result
(``extra["kernels"]``) and remembered per model in :func:`cache_dir`, so that later fits of
the same model on this machine use the same kernels without timing them again (and the same
seed gives the same result). Both kernels give the same FOM to ~1e-14 relative.

Switching reloads GenX's kernel modules and the model libraries that import them, then
recompiles the model's script; a process does it only while it runs one fit at a time
(a runner). numba compiles its kernels once per machine into :func:`cache_dir` (about a
minute); later processes load them from there in well under a second.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from metagenx.errors import SettingsError

if TYPE_CHECKING:
    from metagenx.engine.model import GenxModel

Kernels = Literal["numba", "numpy"]
KERNELS_VARIABLE = "METAGENX_KERNELS"
CHOICES = ("auto", "numba", "numpy")
TIMED_EVALUATIONS = 5
"""Evaluations timed per kind (after one untimed, which compiles or loads the kernels)."""
KERNEL_MODULES = ("genx.models.lib.instrument", "genx.models.lib.paratt", "genx.models.lib.neutron_refl")
"""GenX's modules that bind numba or numpy kernels at import, in import order."""
WARM_MARKER = "metagenx-warm"
"""File left in :func:`cache_dir` once the bundled examples' kernels were compiled there."""

WARM_TIMEOUT = 900.0
"""Seconds the one-time compilation may take before it is given up (fits then compile their own)."""

log = logging.getLogger(__name__)

LIB_PACKAGES = ("genx.models.lib", "models.lib")
"""GenX's model library package under both names it is imported by (each holds the flag)."""
PARATT_NAMES = ("genx.models.lib.paratt", "models.lib.paratt")

_flag: bool | None = None
"""GenX's flag as this process set it (None: not set yet)."""

_chosen: dict[str, Kernels] = {}
"""This process's choices by model (see :func:`model_key`): a model is timed once per process."""


@dataclass(frozen=True)
class KernelChoice:
    """Which kernels a fit ran with, and why.

    Attributes:
        kernels: ``numba`` or ``numpy``.
        how: ``timed`` (the faster of both), ``forced`` (``METAGENX_KERNELS``), ``remembered``
            (timed earlier in this process), ``kept`` (this process does not switch) or
            ``numba missing``.
        numba_ms, numpy_ms: mean time of one evaluation with each, ms (None: not timed).
        numba_start_seconds: time of the first numba evaluation in this process, s: loading the
            compiled kernels from the cache, or compiling them when the cache is cold.
    """

    kernels: Kernels
    how: str
    numba_ms: float | None = None
    numpy_ms: float | None = None
    numba_start_seconds: float | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def wanted() -> str:
    """``METAGENX_KERNELS`` (``auto``, ``numba`` or ``numpy``; default ``auto``), checked."""
    value = os.environ.get(KERNELS_VARIABLE, "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise SettingsError(f"{KERNELS_VARIABLE}={value!r} is not understood: use {', '.join(CHOICES)}")
    return value


def numba_missing() -> str | None:
    """Why numba cannot be used here (None: it can)."""
    try:
        import numba  # noqa: F401
    except Exception as exc:  # ImportError, or a broken llvmlite
        return f"numba cannot be imported ({type(exc).__name__}: {exc})"
    return None


def cache_dir() -> Path:
    """Where numba keeps GenX's compiled kernels: ``$NUMBA_CACHE_DIR``, else the user's cache folder."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("metagenx")) / "numba"


def versions() -> str:
    """The GenX and numba versions the compiled kernels belong to."""
    found = []
    for package in ("genx3server", "numba"):
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{package} missing")
    return ", ".join(found)


def cache_is_warm() -> bool:
    """Whether GenX's kernels were compiled into :func:`cache_dir` (by :func:`warm`) for the
    GenX and numba installed now."""
    try:
        return (cache_dir() / WARM_MARKER).read_text().strip() == versions()
    except OSError:
        return False


def ensure_warm() -> float | None:
    """Compile GenX's kernels into :func:`cache_dir` once per machine (in a child process), unless
    they are there, numba cannot be used or numpy is forced. Returns the seconds it took (None:
    nothing to do). Never raises: a failure is logged and fits compile what they need themselves."""
    try:
        if cache_is_warm() or wanted() == "numpy" or numba_missing() is not None:
            return None
    except SettingsError:
        return None  # the fits report it
    log.warning("compiling GenX's numba kernels for this machine, once (about 30 s): %s", cache_dir())
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "metagenx.engine.kernels"],
            capture_output=True,
            text=True,
            timeout=WARM_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("compiling GenX's kernels did not finish (%s); each fit compiles what it needs", exc)
        return None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        log.warning("compiling GenX's kernels failed (%s); each fit compiles what it needs", reason)
        return None
    seconds = time.perf_counter() - started
    log.warning("compiled GenX's numba kernels in %.0f s; fits load them from the cache from now on", seconds)
    return seconds


def active() -> Kernels:
    """The kernels GenX's model libraries are using in this process now: those of its loaded
    reflectivity module (under either name GenX imports it by), else those it would load."""
    from metagenx.engine.runtime import genx

    genx()  # sets GenX's flag to numpy, unless its kernels were imported before
    loaded = [sys.modules[name] for name in PARATT_NAMES if sys.modules.get(name) is not None]
    if loaded:
        return "numba" if all(uses_numba(module) for module in loaded) else "numpy"
    import genx.models.lib as lib

    return "numba" if lib.USE_NUMBA else "numpy"


def uses_numba(paratt: ModuleType) -> bool:
    """Whether GenX's reflectivity module ``paratt`` holds numba's kernels."""
    return str(getattr(getattr(paratt, "ReflQ", None), "__module__", "")).endswith("_numba")


def set_flag(numba: bool) -> None:
    """Set GenX's flag, in every copy of its model library package, and for copies imported later
    (a script's ``import models.lib…`` runs the package again, which would set it back)."""
    global _flag
    _flag = numba
    for name in LIB_PACKAGES:
        package = sys.modules.get(name)
        if package is not None:
            package.USE_NUMBA = numba  # type: ignore[attr-defined]


def apply_flag(package: ModuleType) -> None:
    """Give a freshly imported copy of GenX's library package this process's flag (if set)."""
    if _flag is not None:
        package.USE_NUMBA = _flag  # type: ignore[attr-defined]


def switch(kernels: Kernels) -> bool:
    """Make GenX's model libraries use ``kernels`` (reloading them); True if that changed them
    (compiled models must then be compiled again)."""
    changed = active() != kernels
    set_flag(kernels == "numba")
    if not changed:
        return False
    for name in (*KERNEL_MODULES, *(n.replace("genx.", "", 1) for n in KERNEL_MODULES)):
        module = sys.modules.get(name)
        if module is not None:
            reload(module)
    libraries = {
        id(module): module
        for name, module in list(sys.modules.items())
        if module is not None
        and name.startswith(("genx.models.", "models."))
        and not name.startswith(("genx.models.lib", "models.lib"))
    }
    for module in libraries.values():
        reload(module)
    return True


def reload(module: ModuleType) -> None:
    """Run ``module`` again in place, also when it is known here only under another name (GenX
    imports a model's libraries as ``models.spec_nx`` too)."""
    name = module.__name__
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        importlib.reload(module)
    finally:
        if previous is not None:
            sys.modules[name] = previous
        elif sys.modules.get(name) is module:
            del sys.modules[name]


def model_key(model: GenxModel) -> str:
    """What the speed of an evaluation depends on: the script and the data sets' sizes."""
    sizes = ",".join(str(d.points) for d in model.datasets)
    return hashlib.sha256(f"{model.script}\0{sizes}".encode()).hexdigest()


def time_evaluations(model: GenxModel, kernels: Kernels) -> tuple[float, float]:
    """Switch to ``kernels``, recompile, and time evaluations: (first one, mean of the rest), s."""
    switch(kernels)
    started = time.perf_counter()
    model.simulate()
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(TIMED_EVALUATIONS):
        model.simulate(recompile=False)
    return first, (time.perf_counter() - started) / TIMED_EVALUATIONS


def choose(model: GenxModel) -> KernelChoice:
    """Put GenX on the kernels this fit of ``model`` runs with (see the module doc); the model is
    recompiled when they changed. Raises what the model's script raises (as :meth:`GenxModel.simulate`)."""
    want = wanted()
    if want == "numpy":
        use(model, "numpy")
        return KernelChoice("numpy", "forced")
    missing = numba_missing()
    if missing is not None:
        use(model, "numpy")
        return KernelChoice("numpy", f"numba missing: {missing}")
    if want == "numba":
        use(model, "numba")
        return KernelChoice("numba", "forced")
    key = model_key(model)
    known = _chosen.get(key) or remembered(key)
    if known is not None:
        _chosen[key] = known
        use(model, known)
        return KernelChoice(known, "remembered")
    start, numba_time = time_evaluations(model, "numba")
    _, numpy_time = time_evaluations(model, "numpy")
    faster: Kernels = "numba" if numba_time < numpy_time else "numpy"
    _chosen[key] = faster
    remember(key, faster)
    use(model, faster)
    return KernelChoice(faster, "timed", 1000 * numba_time, 1000 * numpy_time, start)


def use(model: GenxModel, kernels: Kernels) -> None:
    """Switch to ``kernels``, recompiling ``model`` if that changed GenX's libraries."""
    if switch(kernels):
        model.compile()


def choice_file(key: str) -> Path:
    return cache_dir() / "choices" / f"{key[:40]}.txt"


def remembered(key: str) -> Kernels | None:
    """The kernels timed faster for model ``key`` by an earlier fit with today's GenX and numba."""
    try:
        lines = choice_file(key).read_text().splitlines()
    except OSError:
        return None
    if len(lines) == 2 and lines[0] == versions() and lines[1] in ("numba", "numpy"):
        return "numba" if lines[1] == "numba" else "numpy"
    return None


def remember(key: str, kernels: Kernels) -> None:
    """Keep the choice for model ``key`` (atomically; a cache that cannot be written is no error)."""
    target = choice_file(key)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(f"{versions()}\n{kernels}\n")
        partial.replace(target)
    except OSError:
        pass


def follow_forced() -> None:
    """Switch this process to the kernels ``METAGENX_KERNELS`` forces, if it forces one (call it
    before fits start on threads of this process)."""
    want = wanted()
    if want == "numba" and numba_missing() is None:
        switch("numba")
    elif want == "numpy":
        switch("numpy")


def kept() -> KernelChoice:
    """The kernels of a process that does not switch (fits on threads of one process)."""
    return KernelChoice(active(), "kept")


def warm() -> float:
    """Compile GenX's numba kernels into :func:`cache_dir` by evaluating the bundled reflectivity
    examples (X-ray, neutron time-of-flight, neutron with resolution); the seconds it took.

    Run it in a process of its own (it switches this process to numba).
    """
    from metagenx.engine.model import GenxModel
    from metagenx.engine.runtime import examples_dir, genx

    genx()
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    switch("numba")
    for name in ("X-ray_Reflectivity.hgx", "SuperAdam_SiO.hgx", "D17_TOF_SiO.hgx"):
        GenxModel.load(Path(examples_dir()) / name).simulate()
    seconds = time.perf_counter() - started
    (folder / WARM_MARKER).write_text(versions() + "\n")
    return seconds


if __name__ == "__main__":  # python -m metagenx.engine.kernels: warm the cache
    print(f"compiled GenX's kernels into {cache_dir()} in {warm():.1f} s")
