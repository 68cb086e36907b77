"""Shared fixtures: GenX's bundled example models and ways to make broken copies of them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from metagenx.engine.kernels import cache_dir, cache_is_warm
from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import examples_dir, pin_threads

pin_threads()
os.environ.setdefault("MPLBACKEND", "Agg")
# Fits in tests compare exact FOMs across processes (runners, the in-process API, GenX itself), so
# they all use GenX's numpy kernels; tests/engine/test_kernels.py runs the timed choice itself.
os.environ.setdefault("METAGENX_KERNELS", "numpy")

REPO = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = REPO.parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def kernel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this machine's compiled kernels (compiled first when missing), with no remembered
    choices: what these tests change stays out of the machine's cache."""
    if not cache_is_warm():
        env = {k: v for k, v in os.environ.items() if k != "METAGENX_KERNELS"}
        subprocess.run([sys.executable, "-m", "metagenx.engine.kernels"], check=True, env=env, timeout=900)
    copy = tmp_path_factory.mktemp("kernels") / "numba"
    shutil.copytree(cache_dir(), copy, ignore=shutil.ignore_patterns("choices"))
    return copy


@pytest.fixture(scope="session")
def examples() -> Path:
    """Folder of GenX's bundled example models."""
    return Path(examples_dir())


@pytest.fixture(scope="session")
def xray(examples: Path) -> Path:
    return examples / "X-ray_Reflectivity.hgx"


@pytest.fixture(scope="session")
def superadam(examples: Path) -> Path:
    return examples / "SuperAdam_SiO.hgx"


@pytest.fixture(scope="session")
def d17(examples: Path) -> Path:
    return examples / "D17_TOF_SiO.hgx"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


EditModel = Callable[[Path, Callable[[GenxModel], None], str], Path]


@pytest.fixture
def edited_model(tmp_path: Path) -> EditModel:
    """Copy a model with an edit applied: ``edited_model(source, edit, name) -> path``."""

    def make(source: Path, edit: Callable[[GenxModel], None], name: str) -> Path:
        model = GenxModel.load(source)
        edit(model)
        return model.save(tmp_path / name)

    return make
