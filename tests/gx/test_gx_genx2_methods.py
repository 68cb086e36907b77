"""GenX 2 optimizer pickles that refer to the optimizer's own methods (``getattr`` references).

Files written around 2010 pickled ``DiffEv.create_trial`` (a bound method) through a
``copy_reg`` reducer as ``getattr(optimizer, "rand_1_bin")``. The pickles here are written by
a real Python 2.7, the way GenX 2 wrote them; the allowlist reads those references and refuses
every other ``getattr``.
"""

from __future__ import annotations

import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from metagenx.engine.gx.standins import MethodReference
from metagenx.engine.gx.unpickler import safe_loads
from metagenx.engine.model import GenxModel
from metagenx.errors import UnsafeModelFileError
from tests.gx.conftest import MakeGx, members_of


def find_python2() -> str | None:
    """A working Python 2.7 (pyenv's, or one on the PATH), if the machine has one."""
    candidates = [*sorted(Path.home().glob(".pyenv/versions/2.7*/bin/python2.7")), shutil.which("python2.7")]
    for candidate in candidates:
        if candidate is None:
            continue
        check = subprocess.run([str(candidate), "-c", "import copy_reg"], capture_output=True, check=False)
        if check.returncode == 0:
            return str(candidate)
    return None


GENX2_DIFFEV = """\
import copy_reg, types

def _pickle_method(m):
    if m.im_self is None:
        return getattr, (m.im_class, m.im_func.func_name)
    return getattr, (m.im_self, m.im_func.func_name)

copy_reg.pickle(types.MethodType, _pickle_method)

class DiffEv:
    def __init__(self):
        self.km = 0.7
        self.kr = 0.8
        self.pop_size = 40
        self.use_pop_mult = False
        self.create_trial = self.rand_1_bin
        self.mutation_schemes = [self.best_1_bin, self.rand_1_bin]
        self.init_new_generation = self.standard_init_new_generation
    def best_1_bin(self, index): pass
    def rand_1_bin(self, index): pass
    def standard_init_new_generation(self, gen): pass
"""

WRITE_PICKLE = """\
import pickle, sys
import diffev
open(sys.argv[2], 'wb').write(pickle.dumps(diffev.DiffEv(), int(sys.argv[1])))
"""


@pytest.fixture(scope="module")
def python2_pickles(tmp_path_factory: pytest.TempPathFactory) -> dict[int, bytes]:
    """A GenX 2 style optimizer pickled by Python 2.7, under protocols 0 and 2."""
    python2 = find_python2()
    if python2 is None:
        pytest.skip("no Python 2.7 on this machine to write GenX 2 pickles with")
    folder = tmp_path_factory.mktemp("python2")
    (folder / "diffev.py").write_text(GENX2_DIFFEV)
    (folder / "write.py").write_text(WRITE_PICKLE)
    pickles = {}
    for protocol in (0, 2):
        target = folder / f"optimizer-{protocol}.pickle"
        subprocess.run([python2, "write.py", str(protocol), str(target)], cwd=folder, check=True)
        pickles[protocol] = target.read_bytes()
    return pickles


@pytest.mark.parametrize("protocol", [0, 2])
def test_python2_method_references_are_read_as_inert_references(
    python2_pickles: dict[int, bytes], protocol: int
) -> None:
    data = python2_pickles[protocol]
    assert b"__builtin__\ngetattr" in data, "the pickle really holds getattr references"
    optimizer, names = safe_loads(data, "optimizer")
    assert "builtins.getattr" in names
    trial = optimizer.get("create_trial")
    assert isinstance(trial, MethodReference) and (trial.genx_class, trial.name) == ("DiffEv", "rand_1_bin")
    assert [m.name for m in optimizer.get("mutation_schemes")] == ["best_1_bin", "rand_1_bin"]


@pytest.mark.parametrize("protocol", [0, 2])
def test_a_genx2_file_with_method_references_opens_with_its_settings_parameters_and_data(
    python2_pickles: dict[int, bytes], make_gx: MakeGx, genx2_dir: Path, protocol: int
) -> None:
    config = members_of(genx2_dir / "SuperAdam_SiO.gx")["config"].decode()
    without_solver = re.sub(r"\[solver\][^\[]*", "", config)  # the pickled settings are all there is
    path = make_gx(
        "SuperAdam_SiO.gx",
        out=f"methods-{protocol}.gx",
        optimizer=python2_pickles[protocol],
        config=without_solver.encode(),
    )
    model = GenxModel.load(path)
    original = GenxModel.load(genx2_dir / "SuperAdam_SiO.gx")
    assert [(p.name, p.value, p.min, p.max) for p in model.parameters] == [
        (p.name, p.value, p.min, p.max) for p in original.parameters
    ]
    assert [(d.name, d.points) for d in model.datasets] == [(d.name, d.points) for d in original.datasets]
    settings = model.optimizer_settings
    assert (settings["km"], settings["kr"], settings["create_trial"]) == (0.7, 0.8, "rand_1_bin")
    assert model.simulate() == pytest.approx(original.simulate(), rel=1e-12)


def builtins_exec_pickle(marker: Path) -> bytes:
    """``getattr(getattr(getattr, '__self__'), 'exec')("open(marker, 'w')")``: from ``getattr``
    alone to the builtins module and any code, in protocol 0."""
    code = f"open({str(marker)!r}, 'w').close()"
    return (
        b"c__builtin__\ngetattr\n("
        b"c__builtin__\ngetattr\n(c__builtin__\ngetattr\nS'__self__'\ntR"
        b"S'exec'\ntR(" + f"S{code!r}\n".encode() + b"tR."
    )


def test_the_getattr_escape_runs_code_under_plain_pickle(tmp_path: Path) -> None:
    """Protection off: the same bytes run code under ``pickle.loads``, so the next test can fail."""
    marker = tmp_path / "ran"
    pickle.loads(builtins_exec_pickle(marker))
    assert marker.exists()


def test_the_getattr_escape_is_refused_and_nothing_runs(make_gx: MakeGx, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with pytest.raises(UnsafeModelFileError, match="getattr"):
        safe_loads(builtins_exec_pickle(marker), "optimizer")
    path = make_gx(optimizer=builtins_exec_pickle(marker))
    with pytest.raises(UnsafeModelFileError):
        GenxModel.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("pickled", "named"),
    [
        (b"c__builtin__\ngetattr\n((tS'__class__'\ntR.", "tuple"),  # a builtin value
        (
            b"c__builtin__\ngetattr\n(cparameters\nParameters\nS'best_1_bin'\ntR.",
            "Parameters",
        ),  # class off the list
        (b"(idiffev\nDiffEv\np0\n(dp1\nS'x'\nc__builtin__\ngetattr\n(g0\nS'pickle_load'\ntRsb.", "DiffEv"),
        (b"c__builtin__\ngetattr\n(cdiffev\nDiffEv\nS'__init__'\ntR.", "DiffEv"),  # a dunder of the class
        (b"c__builtin__\ngetattr\n(cdiffev\nDiffEv\nS'rand_1_bin'\nNtR.", "DiffEv"),  # with a default
    ],
)
def test_getattr_of_anything_else_is_refused(pickled: bytes, named: str) -> None:
    with pytest.raises(UnsafeModelFileError, match=f"getattr\\({named}"):
        safe_loads(pickled, "optimizer")


def test_getattr_on_the_optimizer_class_refers_to_its_method() -> None:
    value, _ = safe_loads(b"c__builtin__\ngetattr\n(cdiffev\nDiffEv\nS'best_1_bin'\ntR.", "optimizer")
    assert isinstance(value, MethodReference) and value.name == "best_1_bin"
    with pytest.raises(TypeError):
        value()  # type: ignore[operator]
