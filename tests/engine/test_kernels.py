"""GenX's numba and numpy kernels: the same values, a timed choice per model that is remembered,
and a forced choice (numba in the sandbox: ``tests/sandbox/test_kernel_cache.py``).

The rest of the suite forces numpy (``tests/conftest.py``); these tests set ``METAGENX_KERNELS``
themselves, in fit processes of their own, on a copy of this machine's compiled kernels
(the ``kernel_cache`` fixture).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from metagenx.engine.kernels import WARM_MARKER
from metagenx.engine.runtime import examples_dir

EXAMPLES = sorted(Path(examples_dir()).glob("*.hgx"))

SAME_VALUES = """
import json, sys
from metagenx.engine.kernels import switch
from metagenx.engine.model import GenxModel
models = {path: GenxModel.load(path) for path in sys.argv[1:]}
foms = {path: [] for path in models}
kernel_modules = []
for kernels in ("numpy", "numba"):
    switch(kernels)
    import genx.models.lib.paratt as paratt
    kernel_modules.append(paratt.ReflQ.__module__)
    for path, model in models.items():
        model.compile()
        foms[path].append(model.simulate())
print(json.dumps({"foms": foms, "kernel_modules": kernel_modules}))
"""


def kernel_env(cache: Path, kernels: str) -> dict[str, str]:
    return os.environ | {"NUMBA_CACHE_DIR": str(cache), "METAGENX_KERNELS": kernels}


def fit_json(model: Path, env: dict[str, str], folder: Path) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "metagenx",
            "fit",
            str(model),
            "--seed",
            "3",
            "--max-generations",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_numba_and_numpy_kernels_give_the_same_fom_on_every_bundled_example(kernel_cache: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SAME_VALUES, *map(str, EXAMPLES)],
        capture_output=True,
        text=True,
        env=kernel_env(kernel_cache, "auto"),
        timeout=600,
        check=True,
    )
    values = json.loads(done.stdout)
    assert values["kernel_modules"] == ["genx.models.lib.paratt", "genx.models.lib.paratt_numba"]
    foms = values["foms"]
    assert len(foms) == len(EXAMPLES) >= 10
    for path, (numpy_fom, numba_fom) in foms.items():
        assert abs(numba_fom - numpy_fom) <= 1e-10 * abs(numpy_fom), Path(path).name


def test_a_fit_times_both_kernels_keeps_the_faster_and_the_next_fit_remembers_it(
    kernel_cache: Path, xray: Path, tmp_path: Path
) -> None:
    env = kernel_env(kernel_cache, "auto")
    first = fit_json(xray, env, tmp_path)
    chosen = first["extra"]["kernels"]  # type: ignore[index]
    assert chosen["how"] == "timed" and chosen["numba_ms"] > 0 and chosen["numpy_ms"] > 0
    faster = "numba" if chosen["numba_ms"] < chosen["numpy_ms"] else "numpy"
    assert chosen["kernels"] == faster
    again = fit_json(xray, env, tmp_path)
    assert again["extra"]["kernels"]["how"] == "remembered"  # type: ignore[index]
    assert again["extra"]["kernels"]["kernels"] == faster  # type: ignore[index]
    assert again["fom"] == first["fom"], "the same seed on the same kernels gives the same result"


def test_a_forced_choice_is_used_and_a_wrong_one_is_named(
    kernel_cache: Path, xray: Path, tmp_path: Path
) -> None:
    forced = fit_json(xray, kernel_env(kernel_cache, "numba"), tmp_path)
    assert forced["extra"]["kernels"] == {  # type: ignore[index]
        "kernels": "numba",
        "how": "forced",
        "numba_ms": None,
        "numpy_ms": None,
        "numba_start_seconds": None,
    }
    wrong = subprocess.run(
        [sys.executable, "-m", "metagenx", "fit", str(xray), "--max-generations", "1"],
        capture_output=True,
        text=True,
        env=kernel_env(kernel_cache, "fastest"),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert wrong.returncode != 0
    assert "METAGENX_KERNELS='fastest' is not understood" in wrong.stderr


def test_the_first_fit_on_a_machine_says_that_it_compiles_the_kernels_once(
    kernel_cache: Path, xray: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "numba"  # compiled kernels, but not yet marked as complete: a cold cache
    shutil.copytree(kernel_cache, cache, ignore=shutil.ignore_patterns(WARM_MARKER, "choices"))
    command = [sys.executable, "-m", "metagenx", "fit", str(xray), "--max-generations", "1"]
    runs = [
        subprocess.run(
            command, capture_output=True, text=True, env=kernel_env(cache, "auto"), cwd=tmp_path, timeout=600
        )
        for _ in range(2)
    ]
    assert all(run.returncode == 0 for run in runs), runs[-1].stderr
    assert "compiling GenX's numba kernels for this machine, once" in runs[0].stderr
    assert "compiled GenX's numba kernels in" in runs[0].stderr
    assert (cache / WARM_MARKER).is_file()
    assert "compiling" not in runs[1].stderr, "only the first fit compiles"
