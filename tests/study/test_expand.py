"""Expanding studies into jobs: every axis, their combinations, sequential chains, and early errors."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest

from metagenx.engine.model import GenxModel
from metagenx.engine.settings import FitSettings
from metagenx.errors import StudyDefinitionError
from metagenx.jobs import DataAssignment, JobSpec, ParameterOverride
from metagenx.study import Study
from metagenx.study.definition import load_study
from metagenx.study.expand import expand, natural_key

from .conftest import WriteStudy

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template(superadam: Path) -> GenxModel:
    """The loaded template, shared (expansion only reads it)."""
    return GenxModel.load(superadam)


def jobs_of(
    superadam: Path, template: GenxModel, base_dir: Path | None = None, **values: Any
) -> list[JobSpec]:
    return Study(superadam, base_dir=base_dir, **values).expand(template)


def test_one_fit_by_default(superadam: Path, template: GenxModel) -> None:
    (job,) = jobs_of(superadam, template)
    assert job.label == "fit"
    assert job.model_path == str(superadam)
    assert job.settings == FitSettings(seed=job.seed).to_dict()
    assert (job.data, job.overrides, job.sequence, job.depends_on) == ([], [], None, None)


def test_repeats_get_deterministic_distinct_seeds(superadam: Path, template: GenxModel) -> None:
    jobs = jobs_of(superadam, template, repeats=5)
    assert [j.label for j in jobs] == ["r1", "r2", "r3", "r4", "r5"]
    seeds = [j.seed for j in jobs]
    assert len(set(seeds)) == 5 and all(0 <= s < 2**32 for s in seeds)
    assert [j.seed for j in jobs_of(superadam, template, repeats=5)] == seeds
    assert [j.seed for j in jobs_of(superadam, template, repeats=8)][:5] == seeds  # more repeats keep these
    assert [j.seed for j in jobs_of(superadam, template, repeats=5, seed=1)] != seeds
    explicit = jobs_of(superadam, template, seeds=[11, 3])
    assert [(j.label, j.seed, j.axes["repeat"]) for j in explicit] == [("seed=11", 11, 1), ("seed=3", 3, 2)]


def test_grid_is_a_cartesian_product(superadam: Path, template: GenxModel) -> None:
    jobs = jobs_of(
        superadam,
        template,
        repeats=2,
        settings={"max_generations": 50, "km": 0.5},
        grid={"kr": [0.5, 0.9], "strategy": ["best_1_bin", "rand_1_bin", "jade_best"], "population": [20]},
    )
    assert len(jobs) == 2 * 3 * 2
    assert len({j.label for j in jobs}) == len(jobs)
    assert jobs[0].label == "kr=0.5 strategy=best_1_bin r1"
    points = {(j.settings["kr"], j.settings["strategy"]) for j in jobs}
    assert len(points) == 6
    assert all(j.settings["population"] == 20 and j.settings["km"] == 0.5 for j in jobs)
    assert all(j.settings["max_generations"] == 50 for j in jobs)
    assert jobs[0].axes == {
        "seed": jobs[0].seed,
        "repeat": 1,
        "kr": 0.5,
        "strategy": "best_1_bin",
        "population": 20,
    }
    # the same start seeds for every grid point: differences come from the settings alone
    assert {j.seed for j in jobs} == {jobs[0].seed, jobs[1].seed}


def test_random_samples_are_reproducible_and_in_range(superadam: Path, template: GenxModel) -> None:
    random = {
        "samples": 6,
        "seed": 5,
        "km": [0.3, 0.9],
        "population": [10, 40],
        "max_evaluations": {"low": 100, "high": 10000, "log": True},
        "strategy": ["best_1_bin", "jade_best"],
    }
    jobs = jobs_of(superadam, template, random=random, grid={"kr": [0.5, 0.7]})
    assert len(jobs) == 12
    assert [j.label for j in jobs[:3]] == ["kr=0.5 s1", "kr=0.5 s2", "kr=0.5 s3"]
    for job in jobs:
        settings = job.settings
        assert 0.3 <= settings["km"] <= 0.9 and 10 <= settings["population"] <= 40
        assert 100 <= settings["max_evaluations"] <= 10000 and settings["strategy"] in (
            "best_1_bin",
            "jade_best",
        )
        assert isinstance(settings["population"], int) and isinstance(settings["max_evaluations"], int)
    assert len({j.settings["km"] for j in jobs}) == 6
    again = jobs_of(superadam, template, random=random, grid={"kr": [0.5, 0.7]})
    assert [j.settings for j in again] == [j.settings for j in jobs]
    other = jobs_of(superadam, template, random={**random, "seed": 6}, grid={"kr": [0.5, 0.7]})
    assert [j.settings["km"] for j in other] != [j.settings["km"] for j in jobs]


def test_parameter_variants(superadam: Path, template: GenxModel) -> None:
    jobs = jobs_of(
        superadam,
        template,
        parameters={
            "SiO.setD": {"value": [1000, 1200], "min": 900, "max": [1300, 1500]},
            "inst.setTthoff": {"fit": False},
        },
    )
    assert [j.label for j in jobs] == [
        "SiO.setD=1000 SiO.setD.max=1300",
        "SiO.setD=1000 SiO.setD.max=1500",
        "SiO.setD=1200 SiO.setD.max=1300",
        "SiO.setD=1200 SiO.setD.max=1500",
    ]
    assert jobs[1].overrides == [
        ParameterOverride("SiO.setD", value=1000.0, min=900.0, max=1500.0),
        ParameterOverride("inst.setTthoff", fit=False),
    ]
    assert jobs[1].axes == {
        "seed": jobs[1].seed,
        "repeat": 1,
        "start:SiO.setD": 1000.0,
        "max:SiO.setD": 1500.0,
    }


def test_all_axes_combined(superadam: Path, template: GenxModel, data_folder: Path) -> None:
    jobs = jobs_of(
        superadam,
        template,
        base_dir=data_folder,
        seeds=[1, 2],
        grid={"km": [0.5, 0.7]},
        random={"samples": 2, "kr": [0.2, 0.8]},
        parameters={"SiO.setD": [1100, 1250]},
        data="*.dat",
    )
    assert len(jobs) == 3 * 2 * 2 * 2 * 2
    labels = [j.label for j in jobs]
    assert len(set(labels)) == len(labels)
    assert labels[0] == "T20.dat km=0.5 s1 SiO.setD=1100 seed=1"
    assert labels[-1] == "T300.dat km=0.7 s2 SiO.setD=1250 seed=2"
    assert jobs[0].data == [DataAssignment(0, str(data_folder / "T20.dat"), "auto", {})]
    assert all(j.sequence is None and j.depends_on is None for j in jobs)


def test_sequential_by_natural_name_order(superadam: Path, template: GenxModel, data_folder: Path) -> None:
    jobs = jobs_of(
        superadam, template, base_dir=data_folder, repeats=2, data={"files": ["T*.dat"], "sequential": True}
    )
    assert [j.label for j in jobs] == [
        "T20.dat r1",
        "T20.dat r2",
        "T100.dat r1",
        "T100.dat r2",
        "T300.dat r1",
        "T300.dat r2",
    ]
    assert [j.sequence for j in jobs] == [0, 0, 1, 1, 2, 2]
    assert [j.depends_on for j in jobs] == [
        None,
        None,
        "T20.dat r1",
        "T20.dat r2",
        "T100.dat r1",
        "T100.dat r2",
    ]
    assert jobs[2].axes["data_file"] == "T100.dat" and jobs[2].axes["data_path"] == str(
        data_folder / "T100.dat"
    )
    assert natural_key("T2.dat") < natural_key("T10.dat") < natural_key("t11.dat")


@pytest.mark.parametrize(
    ("order", "reverse", "files", "values"),
    [
        ("header:temperature", False, ["T20.dat", "T100.dat", "T300.dat"], [20.0, 100.0, 300.0]),
        ("header:temperature", True, ["T300.dat", "T100.dat", "T20.dat"], [300.0, 100.0, 20.0]),
        ("header:run", False, ["T300.dat", "T100.dat", "T20.dat"], [898.0, 899.0, 900.0]),
        ("name", True, ["T300.dat", "T100.dat", "T20.dat"], [None, None, None]),
    ],
)
def test_sequential_by_header_value(
    superadam: Path,
    template: GenxModel,
    data_folder: Path,
    order: str,
    reverse: bool,
    files: list[str],
    values: list[float | None],
) -> None:
    data = {"files": ["T300.dat", "T*.dat"], "sequential": True, "order": order, "reverse": reverse}
    jobs = jobs_of(superadam, template, base_dir=data_folder, data=data)
    assert [j.label for j in jobs] == files  # T300.dat, named twice, is fitted once
    assert [j.axes.get("order_value") for j in jobs] == values
    assert [j.depends_on for j in jobs] == [None, files[0], files[1]]


def test_order_by_column(superadam: Path, template: GenxModel, data_folder: Path) -> None:
    jobs = jobs_of(superadam, template, base_dir=data_folder, data={"files": "*.dat", "order": "column:R"})
    assert len(jobs) == 3 and all(isinstance(j.axes["order_value"], float) for j in jobs)
    assert [j.axes["order_value"] for j in jobs] == sorted(j.axes["order_value"] for j in jobs)


def test_unknown_parameter_is_an_error_with_a_suggestion(
    write_study: WriteStudy, superadam: Path, template: GenxModel
) -> None:
    with pytest.raises(
        StudyDefinitionError,
        match=r"^parameters.\"SiO.setDd\": parameter 'SiO.setDd' is not in the model SuperAdam_SiO.hgx; "
        r"did you mean 'SiO.setD'\?",
    ):
        jobs_of(superadam, template, parameters={"SiO.setDd": {"value": 1000}})
    path = write_study(
        "study.toml", f'template = "{superadam}"\nrepeats = 2\n\n[parameters]\n"Fe.setD" = 30\n'
    )
    with pytest.raises(
        StudyDefinitionError, match=r"^study.toml, line 5: .*'Fe.setD' is not in the model"
    ) as caught:
        expand(load_study(path))
    assert caught.value.line == 5


def test_bounds_are_checked_before_anything_runs(superadam: Path, template: GenxModel) -> None:
    with pytest.raises(StudyDefinitionError, match=r"SiO.setD: start value 2000 lies outside its bounds"):
        jobs_of(superadam, template, parameters={"SiO.setD": [1000, 2000]})
    with pytest.raises(StudyDefinitionError, match=r"SiO.setD: min 1400 is larger than max 1300"):
        jobs_of(superadam, template, parameters={"SiO.setD": {"min": 1400, "max": 1300, "value": 1350}})
    jobs = jobs_of(superadam, template, parameters={"SiO.setD": {"value": 2000, "fit": False}})
    assert jobs[0].overrides == [ParameterOverride("SiO.setD", value=2000.0, fit=False)]


def test_data_errors_before_anything_runs(
    write_study: WriteStudy, superadam: Path, template: GenxModel, data_folder: Path
) -> None:
    cases: list[tuple[Any, str]] = [
        ({"files": "*.ort"}, r"^data.files\[0\]: pattern '\*.ort' matches no file \(in "),
        ({"files": ["T20.dat", "T21.dat"]}, r"^data.files\[1\]: no such data file: .*T21.dat"),
        ({"files": "*.dat", "dataset": "Neutron"}, r"^data.dataset: data set 'Neutron' is not in the model"),
        (
            {"files": "*.dat", "options": {"x_coll": 1}},
            r"^data.options: data loader 'auto' has no option 'x_coll'",
        ),
        (
            {"files": "*.dat", "order": "header:pressure"},
            r"^data.order: T.*.dat: no header value for 'pressure'",
        ),
    ]
    for data, message in cases:
        with pytest.raises(StudyDefinitionError, match=message):
            jobs_of(superadam, template, base_dir=data_folder, data=data)
    text = f'template = "{superadam}"\n\n[data]\nfiles = ["{data_folder}/*.dat"]\norder = "header:T"\n'
    with pytest.raises(
        StudyDefinitionError, match=r"^study.toml, line 5: data.order: T\d+.dat: no header value"
    ):
        expand(load_study(write_study("study.toml", text)))


def test_documented_example_expands(tmp_path: Path, superadam: Path, data_folder: Path) -> None:
    shutil.copy(REPO / "docs" / "study-example.toml", tmp_path / "study.toml")
    shutil.copy(superadam, tmp_path / superadam.name)
    shutil.copytree(data_folder, tmp_path / "data")
    jobs = expand(load_study(tmp_path / "study.toml"))
    assert len(jobs) == 3 * 2 * 2 * 4
    assert jobs[0].label == "T20.dat strategy=best_1_bin SiO.setD=1100 r1"
    assert jobs[-1].depends_on == "T100.dat strategy=rand_1_bin SiO.setD=1300 r4"
    assert jobs[0].settings["max_time"] == 120.0 and jobs[0].settings["window"] == 50


def test_jobs_and_errors_survive_pickling(superadam: Path, template: GenxModel, data_folder: Path) -> None:
    """Jobs and errors cross process boundaries (executors, runner children)."""
    study = Study(superadam, base_dir=data_folder, repeats=2, data={"files": "*.dat", "sequential": True})
    jobs = study.expand(template)
    assert pickle.loads(pickle.dumps(jobs)) == jobs
    assert pickle.loads(pickle.dumps(study.definition)) == study.definition
    error = StudyDefinitionError("study.toml, line 3: repeats: must be an integer", "repeats", 3)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.key, copy.line, copy.exit_code) == (str(error), "repeats", 3, 2)
