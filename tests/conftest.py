"""Shared fixtures: GenX's bundled example models and ways to make broken copies of them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import examples_dir, pin_threads

pin_threads()
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = REPO.parent / "shared" / "testdata"


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
