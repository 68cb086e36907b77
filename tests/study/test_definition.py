"""Study files: the schema, and errors that name the key and its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metagenx.errors import StudyDefinitionError
from metagenx.study import Study
from metagenx.study.definition import DataBatch, RandomAxis, load_study, study_from_dict

from .conftest import WriteStudy

REPO = Path(__file__).resolve().parents[2]

FULL = """\
name = "SiO batch"
description = "thickness against temperature"
template = "{template}"
seed = 7
repeats = 3

[settings]
max_generations = 200
km = 0.6

[grid]
kr = [0.5, 0.7]
strategy = ["best_1_bin", "rand_1_bin"]

[random]
samples = 4
population = [20, 40]
max_time = {{ low = 1.0, high = 100.0, log = true }}
tolerance = {{ choices = [1e-3, 1e-4] }}

[parameters]
"SiO.setSigma" = [1.0, 3.0]

[parameters."SiO.setD"]
min = 900
max = 1500
fit = true

[data]
dataset = "NeutronData"
files = ["T*.dat"]
loader = "default"
options = {{ x_col = 0, y_col = 1, e_col = 2 }}
sequential = true
order = "header:temperature"
reverse = true
"""


def test_full_study_file(write_study: WriteStudy, superadam: Path) -> None:
    path = write_study("study.toml", FULL.format(template=superadam))
    study = load_study(path)
    assert (study.name, study.seed, study.repeats, study.seeds) == ("SiO batch", 7, 3, ())
    assert study.base_dir == str(path.parent.resolve())
    assert study.template_path == superadam
    assert study.settings == {"max_generations": 200, "km": 0.6}
    assert study.grid == {"kr": (0.5, 0.7), "strategy": ("best_1_bin", "rand_1_bin")}
    assert study.random is not None and (study.random.samples, study.random.seed) == (4, 7)
    assert study.random.axes == (
        RandomAxis("population", low=20, high=40),
        RandomAxis("max_time", low=1.0, high=100.0, log=True),
        RandomAxis("tolerance", choices=(1e-3, 1e-4)),
    )
    sigma, thickness = study.parameters
    assert (sigma.name, sigma.value) == ("SiO.setSigma", (1.0, 3.0))
    assert (thickness.min, thickness.max, thickness.fit, thickness.value) == (
        (900.0,),
        (1500.0,),
        (True,),
        (),
    )
    assert study.data == DataBatch(
        files=("T*.dat",),
        dataset="NeutronData",
        loader="default",
        options={"x_col": 0, "y_col": 1, "e_col": 2},
        sequential=True,
        order="header:temperature",
        reverse=True,
    )
    # The plain form reads back to the same study, here and from another folder (absolute paths).
    assert study_from_dict(study.to_dict(), study.base_dir) == study
    saved = json.loads(json.dumps(study.to_dict(absolute=True)))
    elsewhere = study_from_dict(saved, "/")
    assert elsewhere.template_path == superadam
    assert elsewhere.data is not None and elsewhere.data.files == (str(path.parent.resolve() / "T*.dat"),)


def test_the_documented_example_is_valid() -> None:
    study = load_study(REPO / "docs" / "study-example.toml")
    assert study.template_path.name == "SuperAdam_SiO.hgx"


def test_minimal_study_and_defaults(write_study: WriteStudy) -> None:
    study = load_study(write_study("s.toml", 'template = "models/film.hgx"\n'))
    assert (study.name, study.repeats, study.seed, study.data, study.random) == ("film", 1, 0, None, None)
    assert study.start_seeds() == load_study(write_study("t.toml", 'template = "x.hgx"\n')).start_seeds()


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("km = 0.6", "kmm = 0.6"), 9, r"settings.kmm: unknown key 'kmm'; did you mean 'km'\?"),
        (("[grid]", "[gird]"), 11, r"gird: unknown key 'gird'; did you mean 'grid'\?"),
        (("repeats = 3", 'repeats = "3"'), 5, r"repeats: must be an integer, got '3'"),
        (
            ("km = 0.6", "km = 1.5"),
            9,
            r"settings.km: setting km=1.5 is outside the allowed range \[0.0, 1.0\]",
        ),
        (('"rand_1_bin"]', '"rand_1_bim"]'), 13, r"grid.strategy\[1\]: unknown DE strategy 'rand_1_bim'"),
        (("population = [20, 40]", "population = [20.5, 40]"), 17, r"random.population: must be an integer"),
        (("fit = true", "fit = 1"), 27, r'parameters."SiO.setD".fit: must be true or false, got 1'),
        (
            ("max = 1500", "maks = 1500"),
            26,
            r"""parameters."SiO.setD".maks: unknown key 'maks'; did you mean 'max'""",
        ),
        (
            ("e_col = 2 }", "e_coll = 2, x = [1] }"),
            33,
            r"data.options.x: must be a number, text or true/false",
        ),
        (
            ('loader = "default"', 'loader = "defualt"'),
            32,
            r"data.loader: unknown data loader 'defualt'; did you",
        ),
        (
            ('order = "header:temperature"', 'order = "temperature"'),
            35,
            r"data.order: must be 'name', 'header",
        ),
        (("max_generations = 200", "seed = 3"), 8, r"settings.seed: seeds are set at the top level"),
    ],
)
def test_errors_name_the_key_and_its_line(
    write_study: WriteStudy, superadam: Path, change: tuple[str, str], line: int, message: str
) -> None:
    text = FULL.format(template=superadam)
    assert change[0] in text
    path = write_study("study.toml", text.replace(change[0], change[1], 1))
    with pytest.raises(StudyDefinitionError, match=rf"^study.toml, line {line}: {message}") as caught:
        load_study(path)
    assert caught.value.line == line
    assert caught.value.exit_code == 2


def test_syntax_errors_carry_their_line(write_study: WriteStudy) -> None:
    path = write_study("bad.toml", 'template = "x.hgx"\nrepeats = 3 4\n')
    with pytest.raises(StudyDefinitionError, match=r"^bad.toml: not valid TOML: .*line 2") as caught:
        load_study(path)
    assert caught.value.line == 2
    json_path = write_study("bad.json", '{"template": "x.hgx",\n "repeats": }')
    with pytest.raises(StudyDefinitionError, match=r"^bad.json: not valid JSON: .*line 2"):
        load_study(json_path)


def test_json_study_file_with_lines(write_study: WriteStudy) -> None:
    path = write_study("s.json", '{\n  "template": "x.hgx",\n  "grid": {\n    "km": [0.5, 2]\n  }\n}\n')
    with pytest.raises(StudyDefinitionError, match=r"^s.json, line 4: grid.km\[1\]: setting km=2 is outside"):
        load_study(path)


def test_missing_and_conflicting_keys(tmp_path: Path) -> None:
    cases = [
        ({}, r"^template: required"),
        ({"template": "x.hgx", "repeats": 2, "seeds": [1, 2]}, r"^seeds: give either repeats"),
        ({"template": "x.hgx", "seeds": [1, 1]}, r"^seeds\[1\]: seed 1 appears twice"),
        (
            {"template": "x.hgx", "grid": {"km": 0.5}},
            r"^grid.km: must be a non-empty list, e.g. km = \[a, b, c\]",
        ),
        (
            {"template": "x.hgx", "grid": {"km": [0.5]}, "random": {"samples": 2, "km": [0, 1]}},
            r"random.km: km is",
        ),
        ({"template": "x.hgx", "random": {"km": [0.1, 0.9]}}, r"^random.samples: required"),
        (
            {"template": "x.hgx", "random": {"samples": 2, "kr": [0.9, 0.1]}},
            r"^random.kr: low 0.9 must be smaller",
        ),
        ({"template": "x.hgx", "parameters": {"a.setB": {}}}, r'^parameters."a.setB": changes nothing'),
        ({"template": "x.hgx", "data": {"loader": "auto"}}, r"^data.files: required"),
        (
            {"template": "x.hgx", "data": {"files": [], "order": "name"}},
            r"^data.files: must be a non-empty list",
        ),
    ]
    for values, message in cases:
        with pytest.raises(StudyDefinitionError, match=message):
            study_from_dict(values, tmp_path)


def test_python_api_builds_the_same_study(write_study: WriteStudy, superadam: Path) -> None:
    path = write_study("study.toml", FULL.format(template=superadam))
    from_file = load_study(path)
    study = Study(
        superadam,
        name="SiO batch",
        description="thickness against temperature",
        seed=7,
        repeats=3,
        settings={"max_generations": 200, "km": 0.6},
        grid={"kr": [0.5, 0.7], "strategy": ["best_1_bin", "rand_1_bin"]},
        random={
            "samples": 4,
            "population": [20, 40],
            "max_time": {"low": 1.0, "high": 100.0, "log": True},
            "tolerance": {"choices": [1e-3, 1e-4]},
        },
        parameters={"SiO.setSigma": [1.0, 3.0], "SiO.setD": {"min": 900, "max": 1500, "fit": True}},
        data={
            "dataset": "NeutronData",
            "files": ["T*.dat"],
            "loader": "default",
            "options": {"x_col": 0, "y_col": 1, "e_col": 2},
            "sequential": True,
            "order": "header:temperature",
            "reverse": True,
        },
        base_dir=path.parent,
    )
    assert study.definition == from_file
    assert Study(superadam, data=["a.dat", "b.dat"]).definition.data == DataBatch(files=("a.dat", "b.dat"))
    with pytest.raises(StudyDefinitionError, match=r"^grid.kmm: unknown key 'kmm'; did you mean 'km'\?"):
        Study(superadam, grid={"kmm": [0.5]})
