"""Mending of old model scripts: each mechanical fix keeps the meaning and is reported."""

from __future__ import annotations

import pytest

from metagenx.engine.gx import read_gx
from metagenx.engine.gx.mending import mend_script, rename_grid_names
from metagenx.engine.model import GenxModel
from metagenx.errors import ModelScriptError
from tests.gx.conftest import MakeGx


def mended(source: str, generation: int = 2) -> tuple[str, list[str]]:
    result = mend_script(source, generation)
    return result.script, result.notes


def run(source: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(source, "<test>", "exec"), namespace)
    return namespace


def test_tabs_are_expanded_as_python2_read_them() -> None:
    source = "if True:\n        a = 1\n\tb = 2\ns = '''\n\tdata\n'''\n"
    script, notes = mended(source)
    assert script == "if True:\n        a = 1\n        b = 2\ns = '''\n\tdata\n'''\n"
    assert notes == [
        "script lines 3: tab indentation expanded to spaces (8 columns per tab, as Python 2 read it)"
    ]
    assert run(script)["s"] == "\n\tdata\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("print 'a', 1", "print('a', 1)"),
        ("print 'a',", "print('a', end=\" \")"),
        ("print", "print()"),
        ("print >>f, 'a'", "print('a', file=f)"),
        ("if x: print x", "if x: print(x)"),
        ("print('a')", "print('a')"),
        ("except ValueError, e:", "except ValueError as e:"),
        ("raise ValueError, 'bad'", "raise ValueError('bad')"),
        ("a <> b", "a != b"),
        ("n = 10L", "n = 10"),
        ("n = 0755", "n = 0o755"),
        ("n = 7/2 + 1.0/2 + x/2 + 2**1/2", "n = 7//2 + 1.0/2 + x/2 + 2**1/2"),
        ("for i in xrange(3): pass", "for i in range(3): pass"),
        ("d.iteritems()", "d.items()"),
        ("import cPickle", "import pickle as cPickle"),
        ("from StringIO import StringIO", "from io import StringIO"),
    ],
)
def test_python2_rewrites(before: str, after: str) -> None:
    script, notes = mended(before + "\n")
    assert script == after + "\n"
    assert bool(notes) == (before != after)


def test_python2_rewrites_keep_the_meaning() -> None:
    script, _ = mended("import sys\nq = 7/2\nr = -7/2\nprint 'x', q,\nxs = list(xrange(q))\n")
    values = run(script)
    assert (values["q"], values["r"], values["xs"]) == (3, -4, [0, 1, 2])


def test_python3_scripts_are_not_given_python2_rewrites() -> None:
    source = "x = 7/2\nprint('a')\n"
    assert mended(source, generation=3) == (source, [])


def test_names_the_script_defines_are_not_renamed() -> None:
    script, notes = mended(
        "from numpy import *\ndef product(a):\n    return a\nxrange = 3\ny = product(xrange)\n"
    )
    assert "prod(" not in script and "range" not in script.replace("xrange", "") and not notes


def test_mag_refl_keywords_choices_and_methods() -> None:
    source = (
        "import models.mag_refl as model\n"
        "inst = model.Instrument(theory='neutron spin-pol', incang=0.3, restype=1, npol=3)\n"
        "Fe = model.Layer(d=10, mag=2.0, phi_m=45, theta_m=0, sigma_c=3)\n"
        "Fe.setMag(1.0)\n"
    )
    result = mend_script(source, 2)
    assert result.script.splitlines()[1:] == [
        "inst = model.Instrument(probe='neutron pol', incangle=0.3, restype='fast conv', npol='ass')",
        "Fe = model.Layer(d=10, magn=2.0, magn_ang=45, magn_theta=0, sigma=3)",
        "Fe.setMagn(1.0)",
    ]
    assert any("theory='neutron spin-pol' rewritten as probe='neutron pol'" in n for n in result.notes)
    names, notes = rename_grid_names(["Fe.setMag", "Fe.setD", ""], result.method_renames)
    assert names == ["Fe.setMagn", "Fe.setD", ""]
    assert notes == ["parameter grid row 0: Fe.setMag renamed Fe.setMagn (GenX 3 name)"]


def test_mag_refl_script_runs_in_genx3_after_mending() -> None:
    from metagenx.engine.runtime import genx

    genx()
    source = (
        "import models.mag_refl as model\n"
        "inst = model.Instrument(theory = 'x-ray iso.', incang = 0.3, coords = 1)\n"
        "Fe = model.Layer(d = 10, mag = 2.0, phi_m = 45, theta_m = 0, sigma_c = 3)\n"
    )
    values = run(mend_script(source, 2).script)
    layer = values["Fe"]
    assert (layer.magn, layer.magn_ang, layer.sigma) == (2.0, 45, 3)  # type: ignore[attr-defined]
    assert values["inst"].probe == "x-ray"  # type: ignore[attr-defined]


def test_integer_choices_are_only_translated_for_genx2() -> None:
    source = "import models.spec_nx as model\ninst = model.Instrument(restype=2, pol=3)\n"
    assert "restype='full conv and varying res.', pol='ass'" in mend_script(source, 2).script
    assert mend_script(source, 3).script == source


def test_numpy_names_removed_in_numpy2() -> None:
    script, notes = mended("import numpy as np\nx = np.Inf + np.float(2)\n", generation=3)
    assert script == "import numpy as np\nx = np.inf + float(2)\n" and len(notes) == 2


def test_unfixable_line_is_named_with_its_reason() -> None:
    _, notes = mended("a = 1\nb = `a`\n")
    assert notes[-1].startswith("script line 2: invalid syntax")
    assert "the script will not run until this line is fixed" in notes[-1]


def test_missing_model_library_is_named() -> None:
    _, notes = mended("import models.spec_nx2 as model\n")
    assert notes[0].startswith("script line 1: GenX 3 has no model library models.spec_nx2")


def test_genx2_file_with_python2_script_loads_and_runs(make_gx: MakeGx) -> None:
    original = read_gx(make_gx()).original_script
    script = "print 'loading the model'\n" + original.replace(
        "    return I", "    if 0 <> 1: pass\n    return I"
    )
    path = make_gx(script_text=script, out="py2.gx")
    model = GenxModel.load(path)
    assert "script line 1: print statement rewritten as print()" in model.notes
    assert any("'<>' rewritten as '!='" in note for note in model.notes)
    reference = GenxModel.load(make_gx(out="plain.gx"))
    assert model.simulate() == pytest.approx(reference.simulate(), rel=1e-12)


def test_unrunnable_script_error_names_the_line(make_gx: MakeGx) -> None:
    original = read_gx(make_gx()).original_script
    script = original + "\nx = `1`\n"
    model = GenxModel.load(make_gx(script_text=script, out="broken.gx"))
    line = script.splitlines().index("x = `1`") + 1
    assert any(note.startswith(f"script line {line}: invalid syntax") for note in model.notes)
    with pytest.raises(ModelScriptError) as caught:
        model.compile()
    assert caught.value.line == line


def test_fixes_inside_a_print_statement_apply_too() -> None:
    script, notes = mended("print >>f, 10L <> 7/2, xrange(2),\nraise E, 1 <> 2\n")
    assert script == 'print(10 != 7//2, range(2), end=" ", file=f)\nraise E(1 != 2)\n'
    assert len(notes) == 7
