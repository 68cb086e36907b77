"""Study results from real short fits: the table (CSV, JSON), the summary and the plots."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import metagenx
from metagenx.engine.model import GenxModel
from metagenx.engine.settings import FitSettings
from metagenx.jobs import FitTask
from metagenx.runner.task import prepare_model
from metagenx.study import Study
from metagenx.study.plots import fom_distribution_png, parameter_trends_png
from metagenx.study.results import (
    JobOutcome,
    ResultRow,
    csv_text,
    json_text,
    order_label,
    summarize,
    table_rows,
    write_csv,
    write_study_outputs,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def starts(superadam: Path) -> list[JobOutcome]:
    """Three short real fits of the template (seeds 1–3), one failed job and one still queued."""
    jobs = Study(superadam, seeds=[1, 2, 3, 4, 5], grid={"km": [0.7]}).expand()
    outcomes = [
        JobOutcome(job, "succeeded", metagenx.fit(superadam, seed=job.seed, max_generations=3, population=10))
        for job in jobs[:3]
    ]
    outcomes.append(JobOutcome(jobs[3], "failed", None, "the runner process died (signal 9)"))
    outcomes.append(JobOutcome(jobs[4], "queued"))
    return outcomes


@pytest.fixture(scope="module")
def batch(superadam: Path, data_folder: Path) -> list[JobOutcome]:
    """A sequential batch over the three data files, each fit seeded by the previous one's values."""
    data = {"files": "*.dat", "sequential": True, "order": "header:temperature"}
    jobs = Study(
        superadam, base_dir=data_folder, settings={"max_generations": 3, "population": 10}, data=data
    ).expand()
    outcomes: list[JobOutcome] = []
    for job in jobs:
        model = GenxModel.load(job.model_path)
        previous = next((o.result for o in outcomes if o.spec.label == job.depends_on), None)
        start = previous.values if previous is not None else {}
        prepare_model(model, FitTask(0, job.model_path, job.settings, None, job.data, job.overrides, start))
        outcomes.append(
            JobOutcome(job, "succeeded", metagenx.fit(model, settings=FitSettings.from_dict(job.settings)))
        )
    return outcomes


def test_table_has_a_row_per_job_and_every_column(starts: list[JobOutcome]) -> None:
    rows = table_rows(starts)
    parsed = list(csv.DictReader(io.StringIO(csv_text(rows))))
    assert [r["label"] for r in parsed] == ["seed=1", "seed=2", "seed=3", "seed=4", "seed=5"]
    assert [r["state"] for r in parsed] == ["succeeded"] * 3 + ["failed", "queued"]
    names = [p.name for p in starts[0].result.parameters] if starts[0].result else []
    assert list(parsed[0]) == [
        *("label", "state", "complete", "seed", "repeat", "km", "data_file", "order_value", "fom"),
        *names,
        *("generations", "evaluations", "wall_time", "stop_reason", "error"),
    ]
    for outcome, row in zip(starts[:3], parsed, strict=False):
        assert outcome.result is not None
        assert float(row["fom"]) == outcome.result.fom  # full precision
        assert int(row["seed"]) == outcome.result.seed == outcome.spec.seed
        assert int(row["generations"]) == outcome.result.generations == 3
        assert row["stop_reason"] == "generation budget reached" and row["km"] == "0.7"
        assert {n: float(row[n]) for n in names} == outcome.result.values
    assert parsed[3]["error"] == "the runner process died (signal 9)" and parsed[3]["fom"] == ""
    document = json.loads(json_text(rows, summarize(rows)))
    assert document["columns"] == list(parsed[0])
    assert document["rows"][4]["fom"] is None and document["rows"][0]["fom"] == float(parsed[0]["fom"])
    assert document["summary"]["counts"] == {"succeeded": 3, "failed": 1, "queued": 1}


def test_summary_of_starts(starts: list[JobOutcome]) -> None:
    summary = summarize(table_rows(starts))
    results = [o.result for o in starts if o.result is not None]
    foms = np.array([r.fom for r in results])
    best = results[int(np.argmin(foms))]
    assert (summary.jobs, summary.counts) == (5, {"succeeded": 3, "failed": 1, "queued": 1})
    assert summary.best_fom == best.fom and summary.best_label == f"seed={best.seed}"
    assert summary.best_values == best.values
    converged = [r for r in results if r.fom <= best.fom * 1.01]
    assert summary.success_rate == pytest.approx(len(converged) / 3)
    for stats in summary.parameters:
        values = np.array([r.values[stats.name] for r in converged])
        assert stats.mean == pytest.approx(values.mean()) and (stats.min, stats.max) == (
            values.min(),
            values.max(),
        )
        assert stats.count == len(converged)
        assert stats.std == pytest.approx(values.std(ddof=1) if len(values) > 1 else 0.0)
    assert [p.problem for p in summary.problems] == [""]


def test_success_rate_counts_starts_within_one_percent() -> None:
    rows = [
        ResultRow(f"r{i}", "succeeded", i, {}, fom=fom, parameters={"a": float(i)})
        for i, fom in enumerate([1.0, 1.0099, 1.02, 1.5], start=1)
    ]
    rows.append(ResultRow("r5", "failed", 5, {}, error="boom"))
    summary = summarize(rows)
    assert summary.success_rate == 0.5 and summary.best_label == "r1"
    (stats,) = summary.parameters
    assert (stats.mean, stats.min, stats.max, stats.count) == (1.5, 1.0, 2.0, 2)
    assert stats.std == pytest.approx(math.sqrt(0.5))


def test_batch_summary_is_per_data_file(batch: list[JobOutcome]) -> None:
    rows = table_rows(batch)
    assert [(r.data_file, r.order_value) for r in rows] == [
        ("T20.dat", 20.0),
        ("T100.dat", 100.0),
        ("T300.dat", 300.0),
    ]
    summary = summarize(rows)
    assert summary.best_label is None and summary.success_rate is None  # a batch: one start per file
    assert [(p.data_file, p.starts, p.best_label) for p in summary.problems] == [
        ("T20.dat", 1, "T20.dat"),
        ("T100.dat", 1, "T100.dat"),
        ("T300.dat", 1, "T300.dat"),
    ]
    # each fit started from the previous file's fitted thickness
    first, second = (o.result for o in batch[:2])
    assert first is not None and second is not None
    assert {p.name: p.start for p in second.parameters}["SiO.setD"] == first.values["SiO.setD"]


def png_size(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as image:
        image.load()
        return image.size


def test_plots_decode(starts: list[JobOutcome], batch: list[JobOutcome]) -> None:
    rows = table_rows(starts)
    width, height = png_size(fom_distribution_png(rows, summarize(rows)))
    assert width > 300 and height > 200
    assert parameter_trends_png(rows, summarize(rows)) is None  # no batch data
    batch_rows = table_rows(batch)
    trends = parameter_trends_png(batch_rows, summarize(batch_rows), x_label="temperature (K)")
    assert trends is not None and png_size(trends)[1] > 2 * 280  # 9 parameters: 5 rows of panels
    assert png_size(fom_distribution_png(batch_rows, summarize(batch_rows)))[0] > 300


def test_write_study_outputs(tmp_path: Path, batch: list[JobOutcome], superadam: Path) -> None:
    study = Study(superadam, data={"files": "*.dat", "order": "header:temperature"})
    assert order_label(study.definition) == "temperature (file header)"
    assert order_label(Study(superadam, data="*.dat").definition) is None
    written = write_study_outputs(tmp_path / "results", batch, order_label=order_label(study.definition))
    assert [p.name for p in written] == [
        "results.csv",
        "results.json",
        "summary.json",
        "fom_distribution.png",
        "parameter_trends.png",
    ]
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == sorted(p.name for p in written)
    assert json.loads((tmp_path / "results" / "summary.json").read_text())["counts"] == {"succeeded": 3}
    with pytest.raises(metagenx.MetagenxError, match=r"cannot write .*results.csv"):
        write_csv(table_rows(batch), tmp_path / "missing" / "results.csv")
