"""Every GenX model library fits with ``metagenx fit``, and the fitted file reopens in GenX with
the same FOM (the sandboxed fits: ``tests/sandbox/test_model_libraries_sandbox.py``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.model_libraries import LIBRARIES, library_model

GENX_FOMS = """
import sys
from metagenx.engine.runtime import genx
modules = genx()  # GenX itself, with metagenx's guard on pickles and its library repairs
for path in sys.argv[1:]:
    controller = modules.model_control.ModelController(modules.diffev.DiffEv())
    controller.load_file(path)
    model = controller.get_model()
    model.simulate()
    print(repr(float(model.fom)))
"""


SHORT_FIT = ["--seed", "1", "--max-generations", "2", "--pop", "10"]


def genx_foms(paths: list[Path]) -> list[float]:
    """The FOMs GenX's own controller computes for ``paths``, in one fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", GENX_FOMS, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return [float(line) for line in done.stdout.split()]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], float]]:
    """Per library: the result ``metagenx fit`` printed, and GenX's FOM of the file it wrote."""
    folder = tmp_path_factory.mktemp("libraries")
    models = {library: library_model(library, folder) for library in LIBRARIES}
    # a folder each: a fit writes result.json, parameters.csv… beside its model, under fixed names
    outputs = {library: folder / "fit" / library / f"{library}.hgx" for library in LIBRARIES}

    def fit(library: str) -> dict[str, Any]:
        command = [sys.executable, "-m", "metagenx", "fit", str(models[library]), *SHORT_FIT]
        done = subprocess.run(
            [*command, "--out", str(outputs[library]), "--json"],
            capture_output=True,
            text=True,
            cwd=folder,
            timeout=600,
            check=False,
        )
        return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr}

    with ThreadPoolExecutor(max_workers=2) as pool:  # one fit process per core
        results = dict(zip(LIBRARIES, pool.map(fit, LIBRARIES), strict=True))
    # GenX mixes up the classes of sxrd and sxrd_mult once one process has loaded both: apart
    ok = [library for library in LIBRARIES if "error" not in results[library]]
    foms: dict[str, float] = {}
    for batch in ([lib for lib in ok if lib != "sxrd_mult"], [lib for lib in ok if lib == "sxrd_mult"]):
        if batch:
            foms.update(zip(batch, genx_foms([outputs[lib] for lib in batch]), strict=True))
    return {library: (results[library], foms.get(library, math.nan)) for library in LIBRARIES}


def test_the_list_names_every_library_genx_ships() -> None:
    import genx.models

    shipped = {p.stem for p in Path(genx.models.__file__).parent.glob("*.py")}
    assert shipped - {"__init__", "utils", "symmetries"} == set(LIBRARIES)


@pytest.mark.parametrize("library", LIBRARIES)
def test_every_model_library_fits_and_its_fitted_file_reopens_in_genx(
    fitted: dict[str, tuple[dict[str, Any], float]], library: str
) -> None:
    result, genx_fom = fitted[library]
    assert "error" not in result, result.get("error")
    assert result["generations"] == 2 and math.isfinite(result["fom"])
    assert genx_fom == pytest.approx(result["fom"], rel=1e-9)
