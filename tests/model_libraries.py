"""One small model file per GenX model library, for the library coverage tests.

GenX's bundled examples cover ``spec_nx``, ``sxrd`` and ``sxrd2``; for the other libraries a
model is built from an example: its data, a script of the library's own classes (a film on
a substrate, or a superlattice for ``sxrd_mult``) and a grid of two fit parameters.
"""

from __future__ import annotations

from pathlib import Path

from metagenx.engine.model import GenxModel
from metagenx.engine.runtime import examples_dir

INSTRUMENT = (
    "wavelength=1.54, coords=model.Coords.tth, I0=1.0, Ibkg=1e-8, res=0.001, "
    "restype=model.ResType.none, footype=model.FootType.none, beamw=0.1"
)

FILM_SCRIPT = """import models.{library} as model
from models.utils import UserVars, fp, fw, bc, bw

inst = model.Instrument({instrument})
Amb = model.Layer({ambient})
Film = model.Layer(d=150.0, sigma=3.0, {film})
Sub = model.Layer(sigma=2.0, {substrate})
ML = model.Stack(Layers=[Film], Repetitions=1)
sample = model.Sample(Stacks=[ML], Ambient=Amb, Substrate=Sub{sample})


def Sim(data):
    I = []
    for data_set in data:
        I.append(model.{simulate}(data_set.x, sample, inst))
    return I
"""

SUPERLATTICE_SCRIPT = """import models.sxrd_mult as model
from models.utils import UserVars

cp = UserVars()
cp.new_var('scale', 1.0)
inst = model.Instrument(wavel=1.0, alpha=1.0)
sto = model.Slab()
sto.add_atom('Sr', 'sr2p', 0.0, 0.0, 0.0, 0.08, 1.0)
sto.add_atom('Ti', 'ti4p', 0.5, 0.5, 0.5, 0.08, 1.0)
sto.add_atom('O1', 'o2m', 0.5, 0.5, 0.0, 0.08, 1.0)
sto.add_atom('O2', 'o2m', 0.5, 0.0, 0.5, 0.08, 1.0)
sto.add_atom('O3', 'o2m', 0.0, 0.5, 0.5, 0.08, 1.0)
lao = model.Slab(c=1.05)
lao.add_atom('La', 'la3p', 0.0, 0.0, 0.0, 0.08, 1.0)
lao.add_atom('Al', 'al3p', 0.5, 0.5, 0.5, 0.08, 1.0)
lao.add_atom('O1', 'o2m', 0.5, 0.5, 0.0, 0.08, 1.0)
lao.add_atom('O2', 'o2m', 0.0, 0.5, 0.5, 0.08, 1.0)
lao.add_atom('O3', 'o2m', 0.5, 0.0, 0.5, 0.08, 1.0)
uc = model.UnitCell(3.9045, 3.9045, 3.9045, 90, 90, 90)
sl = model.SLStandard(inst, uc, lao, sto)
sample = model.SLSample(inst, sto, sl, uc)
sl.setc(0.00001)
sl.setna(4.0)
sl.setsigmaa(0.3)
sl.setnb(2.0)
sl.setsigmab(0.3)
sl.setrepetitions(3)


def Sim(data):
    I = []
    for d in data:
        I.append(sample.calc_i(d.h, d.k, d.x) * cp.scale)
    return I
"""

FILM_LIBRARIES: dict[str, dict[str, str]] = {
    "spec_adaptive": {"instrument": f"probe=model.Probe.xray, {INSTRUMENT}"},
    "spec_inhom": {"instrument": f"probe=model.Probe.xray, {INSTRUMENT}"},
    "soft_nx": {
        "instrument": f"probe=model.Probe.xray, {INSTRUMENT}",
        "film": "sld_x=2e-5+1e-7j",
        "substrate": "sld_x=2e-5+5e-7j",
    },
    "interdiff": {"instrument": INSTRUMENT},
    "interdiff_ba": {"instrument": INSTRUMENT, "ambient": "f=0j", "simulate": "SpecularBA"},
    "mag_refl": {
        "instrument": INSTRUMENT.replace(
            "wavelength=1.54", "probe=model.ProbeTheory.xray_iso, wavelength=1.54"
        ),
        "sample": ", slicing=False",
    },
}
"""The libraries without a bundled example that a film model is built for, and how they differ."""

EXAMPLES = {"spec_nx": "X-ray_Reflectivity.hgx", "sxrd": "SXRD.hgx", "sxrd2": "SXRD2.hgx"}
LIBRARIES = sorted([*EXAMPLES, *FILM_LIBRARIES, "sxrd_mult"])
"""Every GenX model library."""


def film_script(library: str) -> str:
    values = {
        "library": library,
        "ambient": "",
        "film": "f=fp.Si, dens=0.05",
        "substrate": "f=fp.Si, dens=0.08",
        "sample": "",
        "simulate": "Specular",
    }
    return FILM_SCRIPT.format(**(values | FILM_LIBRARIES[library]))


def library_model(library: str, folder: Path) -> Path:
    """A model file of ``library`` in ``folder`` (the bundled example where GenX has one)."""
    if library in EXAMPLES:
        return Path(examples_dir()) / EXAMPLES[library]
    if library == "sxrd_mult":
        model = GenxModel.load(Path(examples_dir()) / "SXRD.hgx")
        script = SUPERLATTICE_SCRIPT
        grid = [["cp.setScale", 1.0, True, 0.1, 10.0, "-"], ["sl.setsigmaa", 0.3, True, 0.3, 1.0, "-"]]
    else:
        model = GenxModel.load(Path(examples_dir()) / "X-ray_Reflectivity.hgx")
        script = film_script(library)
        grid = [["Film.setD", 150.0, True, 100.0, 200.0, "-"], ["Film.setSigma", 3.0, True, 0.0, 10.0, "-"]]
    model.model.set_script(script)
    model.model.parameters.data = grid
    return model.save(folder / f"{library}.hgx")
