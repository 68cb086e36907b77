"""Summaries that fit the study (repeats, settings sweeps, batches) and trend plots labelled with the
order key's unit and drawn with error bars, on small real fits (3 generations each)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.text import Text
from rich.console import Console

import metagenx
from metagenx.engine.data import read_header_quantity
from metagenx.engine.model import GenxModel
from metagenx.engine.result import FitResult
from metagenx.engine.settings import FitSettings
from metagenx.jobs import FitTask, JobSpec
from metagenx.runner.task import prepare_model
from metagenx.study import Study
from metagenx.study.plots import fom_distribution_figure, parameter_trends_figure
from metagenx.study.report import StudyResults, summary_tables
from metagenx.study.results import (
    GENX_ERRORS,
    JACOBIAN_ERRORS,
    POSTERIOR_ERRORS,
    JobOutcome,
    StudySummary,
    order_label,
    order_unit,
    study_shape,
    summarize,
    table_rows,
)
from metagenx.untrusted.messages import OrderValueRead, decode_answer, encode

pytestmark = pytest.mark.slow

SHORT = {"max_generations": 3, "population": 10}


def run(study: Study) -> list[JobOutcome]:
    """Every job of ``study`` fitted in this process (no sequence: each from the template)."""
    return [JobOutcome(job, "succeeded", fit(job)) for job in study.expand()]


def fit(job: JobSpec) -> FitResult:
    model = GenxModel.load(job.model_path)
    prepare_model(model, FitTask(0, job.model_path, job.settings, None, job.data, job.overrides, {}))
    return metagenx.fit(model, settings=FitSettings.from_dict(job.settings))


def rendered(summary: StudySummary) -> str:
    console = Console(file=io.StringIO(), width=200, record=True)
    for table in summary_tables(StudyResults("s", [], summary, [])):
        console.print(table)
    return console.export_text()


def texts(figure: object) -> str:
    return "\n".join(t.get_text() for t in figure.findobj(Text))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def repeats(superadam: Path) -> tuple[Study, list[JobOutcome]]:
    study = Study(superadam, seeds=[1, 2], settings=SHORT)
    return study, run(study)


@pytest.fixture(scope="module")
def sweep(superadam: Path) -> tuple[Study, list[JobOutcome]]:
    study = Study(superadam, seeds=[1, 2], grid={"km": [0.5, 0.9]}, settings=SHORT)
    return study, run(study)


@pytest.fixture(scope="module")
def batch(superadam: Path, data_folder: Path) -> tuple[Study, list[JobOutcome]]:
    data = {"files": "*.dat", "order": "header:temperature"}
    study = Study(superadam, base_dir=data_folder, settings=SHORT, data=data)
    return study, run(study)


def test_the_shape_comes_from_the_definition(
    repeats: tuple[Study, list[JobOutcome]],
    sweep: tuple[Study, list[JobOutcome]],
    batch: tuple[Study, list[JobOutcome]],
) -> None:
    for (study, outcomes), shape in ((repeats, "repeats"), (sweep, "sweep"), (batch, "batch")):
        assert study_shape(study.definition.to_dict()) == shape
        assert summarize(table_rows(outcomes)).shape == shape  # guessed from the rows alike
    assert study_shape({"kind": "watch", "order": "name"}) == "batch"
    assert study_shape({"grid": {"km": [0.7]}, "repeats": 5}) == "repeats"  # one grid point


def test_repeats_keep_success_rate_and_spread(repeats: tuple[Study, list[JobOutcome]]) -> None:
    summary = summarize(table_rows(repeats[1]), shape="repeats")
    assert summary.success_rate is not None and summary.points == []
    text = rendered(summary)
    assert "success rate" in text and "Converged starts" in text
    assert "success rate" in texts(fom_distribution_figure(table_rows(repeats[1]), summary))


def test_sweep_compares_its_settings_points(sweep: tuple[Study, list[JobOutcome]]) -> None:
    rows = table_rows(sweep[1])
    summary = summarize(rows, shape="sweep")
    assert [(p.label, p.starts, p.succeeded) for p in summary.points] == [("km=0.5", 2, 2), ("km=0.9", 2, 2)]
    best = min(float(r.fom or 0) for r in rows)
    for point in summary.points:
        foms = sorted(float(r.fom or 0) for r in rows if r.axes["km"] == point.settings["km"])
        assert (point.fom_min, point.fom_median, point.fom_max) == pytest.approx(
            (foms[0], sum(foms) / 2, foms[1])
        )
        assert point.success_share == sum(f <= best * 1.01 for f in foms) / 2
    ranked = sorted(summary.points, key=lambda p: (-p.success_share, p.fom_median or 0))
    assert summary.best_point == ranked[0].label
    text = rendered(summary)
    assert "FOM per settings point" in text and f"{summary.best_point} (best)" in text
    assert "Converged starts" not in text
    figure = fom_distribution_figure(rows, summary)
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["km=0.5", "km=0.9"]
    assert axes.get_xlabel() == "settings point" and f"best point {summary.best_point}" in axes.get_title()
    again = StudySummary.from_dict(summary.to_dict())  # as the server sends it
    assert again.points == summary.points and again.best_point == summary.best_point


def test_batch_has_a_file_table_and_no_success_rate(batch: tuple[Study, list[JobOutcome]]) -> None:
    rows = table_rows(batch[1])
    summary = summarize(rows, shape=study_shape(batch[0].definition.to_dict()))
    assert summary.success_rate is None
    assert [(p.data_file, p.order_value, p.order_unit) for p in summary.problems] == [
        ("T20.dat", 20.0, "K"),
        ("T100.dat", 100.0, "K"),
        ("T300.dat", 300.0, "K"),
    ]
    text = rendered(summary)
    assert "success rate" not in text.lower() and "Converged starts" not in text
    assert "Best fit per data file" in text and "order (K)" in text and "SiO.setD" in text
    assert JACOBIAN_ERRORS in text and " ± " in text
    assert "success rate" not in texts(fom_distribution_figure(rows, summary))


def test_trends_are_labelled_with_the_key_and_unit_and_carry_error_bars(
    batch: tuple[Study, list[JobOutcome]],
) -> None:
    study, outcomes = batch
    rows = table_rows(outcomes)
    label = order_label(study.definition, order_unit(rows))
    assert label == "temperature (K)"
    figure = parameter_trends_figure(rows, summarize(rows, shape="batch"), label)
    assert figure is not None
    panels = [a for a in figure.axes if a.get_visible()]
    assert panels[-1].get_xlabel() == "temperature (K)"
    assert all(any(isinstance(c, ErrorbarContainer) for c in a.containers) for a in panels)
    assert JACOBIAN_ERRORS in texts(figure)  # the legend and title say what the bars are
    first = panels[0]
    legend = first.get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == [JACOBIAN_ERRORS]
    # the thickness panel: its bars are the covariance's σ at each file's best fit
    name = panels[0].get_title()
    container = next(c for c in first.containers if isinstance(c, ErrorbarContainer))
    segments = container.lines[2][0].get_segments()
    sigmas = []
    for outcome in outcomes:
        assert outcome.result is not None
        covariance = outcome.result.extra["covariance"]
        sigmas.append(covariance["sigma"][covariance["names"].index(name)])
    assert [s[1][1] - s[0][1] for s in segments] == pytest.approx([2 * s for s in sigmas])


def with_extra(result: FitResult, **extra: object) -> FitResult:
    return dataclasses.replace(
        result, extra={k: v for k, v in {**result.extra, **extra}.items() if v is not None}
    )


def test_error_bars_prefer_the_posterior_then_the_covariance_then_genx(
    batch: tuple[Study, list[JobOutcome]],
) -> None:
    outcomes = batch[1]
    results = [o.result for o in outcomes if o.result is not None]
    name = results[0].parameters[0].name
    sampled = []
    for outcome, result in zip(outcomes, results, strict=True):
        value = result.values[name]
        posterior = {"parameters": [{"name": name, "p68": [value - 1.0, value + 3.0]}]}
        sampled.append(JobOutcome(outcome.spec, "succeeded", with_extra(result, posterior=posterior)))
    rows = table_rows(sampled)
    assert all(r.error_source == POSTERIOR_ERRORS and r.errors == {name: (1.0, 3.0)} for r in rows)
    figure = parameter_trends_figure(rows, summarize(rows), "temperature (K)")
    assert figure is not None and POSTERIOR_ERRORS in texts(figure)
    container = next(c for c in figure.axes[0].containers if isinstance(c, ErrorbarContainer))
    values = [float(v) for v in np.asarray(container.lines[0].get_ydata(), dtype=float)]
    ends = [(float(s[0][1]), float(s[1][1])) for s in container.lines[2][0].get_segments()]
    assert [e for pair in ends for e in pair] == pytest.approx(
        [e for v in values for e in (v - 1.0, v + 3.0)]
    )

    genx = []
    for index, result in enumerate(results):
        bare = with_extra(result, covariance=None)
        bare = dataclasses.replace(
            bare,
            parameters=[dataclasses.replace(p, error_low=-0.5, error_high=0.25) for p in bare.parameters],
        )
        genx.append(JobOutcome(outcomes[index].spec, "succeeded", bare))
    rows = table_rows(genx)
    assert all(r.error_source == GENX_ERRORS and r.errors[name] == (0.5, 0.25) for r in rows)

    plain = [
        JobOutcome(o.spec, "succeeded", with_extra(r, covariance=None))
        for o, r in zip(outcomes, results, strict=True)
    ]
    rows = table_rows(plain)
    assert all(r.errors == {} and r.error_source is None for r in rows)
    figure = parameter_trends_figure(rows, summarize(rows), None)
    assert figure is not None and not any(a.containers for a in figure.axes)
    assert "error bars" not in texts(figure)


def test_header_units(tmp_path: Path, data_folder: Path, superadam: Path) -> None:
    cases = {
        "# temperature: 300 K\n": (300.0, "K"),
        "# T (K): 20\n": (20.0, "K"),
        "# field [mT] = 3.5\n": (3.5, "mT"),
        "# temperature = 5\n": (5.0, None),
        "# temperature: 300 K at the sample\n": (300.0, None),
    }
    for index, (header, expected) in enumerate(cases.items()):
        path = tmp_path / f"f{index}.dat"
        path.write_text(header + "1 2 3\n", encoding="utf-8")
        key = header[2:].split(":")[0].split("=")[0].split(" ")[0]
        assert read_header_quantity(path, key) == expected, header
    orso = tmp_path / "run.ort"
    orso.write_text(
        "# # ORSO reflectivity data file | 1.1 standard | YAML encoding | https://www.reflectometry.org/\n"
        "# data_source:\n#   sample:\n#     name: SiO\n#     sample_parameters:\n"
        "#       temperature: {magnitude: 77.5, unit: K}\n"
        "# columns:\n# - {name: Qz, unit: 1/angstrom}\n# - {name: R}\n"
        "0.01 1.0\n",
        encoding="utf-8",
    )
    assert read_header_quantity(orso, "temperature") == (77.5, "K")
    jobs = Study(
        superadam, base_dir=data_folder, data={"files": "*.dat", "order": "header:temperature"}
    ).expand()
    assert {j.axes["order_unit"] for j in jobs} == {"K"}
    # the sandboxed reader's answer carries the unit, cleaned of control characters
    answer = decode_answer(encode(OrderValueRead(77.5, "K\x07")))
    assert isinstance(answer, OrderValueRead) and (answer.value, answer.unit) == (77.5, "K?")
