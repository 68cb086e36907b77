"""GenX's bundled example models, so a new user has something to fit."""

from __future__ import annotations

import shutil
from pathlib import Path

from metagenx.engine.runtime import examples_dir
from metagenx.errors import MetagenxError, OutputError

MODEL_SUFFIXES = (".hgx", ".gx")


def list_examples() -> list[Path]:
    """Model files shipped with the installed GenX, sorted by name."""
    folder = Path(examples_dir())
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in MODEL_SUFFIXES)


def example_path(name: str) -> Path:
    """Path of the bundled example ``name`` (with or without extension)."""
    for path in list_examples():
        if name in (path.name, path.stem):
            return path
    known = ", ".join(p.name for p in list_examples())
    raise MetagenxError(f"GenX ships no example called {name!r}; the examples are: {known}")


def copy_example(name: str, destination: Path) -> Path:
    """Copy one example into ``destination`` (a folder or a file path); return the new file."""
    source = example_path(name)
    target = destination / source.name if destination.is_dir() or not destination.suffix else destination
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError as exc:
        raise OutputError(f"cannot copy {source.name} to {target}: {exc.strerror}") from exc
    return target
