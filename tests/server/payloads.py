"""Hostile model files for the attack tests, built from a bundled GenX example.

None of them depends on metagenx's internal names: a forging script writes raw bytes to every
pipe it holds, as any model's script could.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from metagenx.engine.model import GenxModel


class RunsCommand:
    """Pickles as a call of ``os.system(command)``: unpickling it runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


def pickle_hgx(source: Path, target: Path, marker: Path) -> Path:
    """A copy of ``source`` with a pickled value (as GenX keeps data-set metadata) that makes ``marker``."""
    shutil.copyfile(source, target)
    with h5py.File(target, "a") as handle:
        dataset = handle.create_dataset(
            "current/data/datasets/0/meta/note", data=np.void(pickle.dumps(RunsCommand(f"touch {marker}")))
        )
        dataset.attrs["genx_type"] = b"dump"
    return target


def absurd_hgx(
    source: Path, target: Path, points: int, columns: tuple[str, ...] = ("x_raw", "y_raw", "error_raw")
) -> Path:
    """A copy of ``source`` whose first data set's ``columns`` declare ``points`` points each (chunked
    zeros: a small file)."""
    shutil.copyfile(source, target)
    with h5py.File(target, "a") as handle:
        group = handle["current/data/datasets/0"]
        for name in columns:
            attributes = dict(group[name].attrs)
            del group[name]
            dataset = group.create_dataset(
                name, shape=(points,), dtype="f8", chunks=(1 << 20,), compression="gzip", fillvalue=0.0
            )
            for key, value in attributes.items():
                dataset.attrs[key] = value
    return target


FORGE = """
import os as _os, stat as _stat, time as _time
def _forge(lines, repeat, pause):
    for _ in range(repeat):
        for descriptor in range(1024):
            try:
                if _stat.S_ISFIFO(_os.fstat(descriptor).st_mode):
                    for line in lines:
                        _os.write(descriptor, line)
            except OSError:
                pass
        _time.sleep(pause)
_forge({lines!r}, {repeat}, {pause})
"""


def forging_model(
    source: Path, target: Path, lines: list[bytes], repeat: int = 1, pause: float = 0.0
) -> Path:
    """A copy of ``source`` whose script first writes ``lines`` to every pipe it holds, ``repeat`` times."""
    model = GenxModel.load(source)
    model.model.set_script(FORGE.format(lines=lines, repeat=repeat, pause=pause) + model.script)
    return model.save(target)


LINK = """
import glob as _glob, os as _os
for _folder in _glob.glob({pattern!r}):
    try:
        _os.symlink({target!r}, _os.path.join(_folder, {name!r}))
    except OSError:
        pass
"""


def linking_model(source: Path, target: Path, folders: str, name: str, points_to: str) -> Path:
    """A copy of ``source`` whose script puts a symbolic link ``name`` → ``points_to`` into every
    folder matching the glob ``folders`` it can write (its own job folder)."""
    model = GenxModel.load(source)
    model.model.set_script(LINK.format(pattern=folders, target=points_to, name=name) + model.script)
    return model.save(target)


def message(tag: str, **fields: Any) -> bytes:
    """A protocol-shaped line (its ``type`` tag first), NaN written as JSON's ``NaN``."""
    return (json.dumps({"type": tag, **fields}) + "\n").encode()
