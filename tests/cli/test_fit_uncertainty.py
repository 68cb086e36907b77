"""`metagenx fit --uncertainty` as a user runs it: the ± (68 %) table, the posterior line and the
posterior's files, on the cheap synthetic model (sampling bounded by draws and burn-in)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

from PIL import Image
from rich.console import Console
from rich.table import Table

from metagenx.cli.tables import signed
from metagenx.cli.watch import SamplingLines
from metagenx.engine.posterior import SamplingStatus
from metagenx.events import Failed, Progress
from tests.cli.test_fit_cli import METAGENX
from tests.engine.synthetic import simulated_model


def wide(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``metagenx *args`` with a console wide enough for the whole table."""
    environment = os.environ | {"COLUMNS": "240"}
    done = subprocess.run(
        [*METAGENX, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=environment
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return done


def test_fit_with_uncertainty_prints_intervals_and_writes_the_posterior_plots(
    superadam: Path, tmp_path: Path
) -> None:
    model = simulated_model(superadam, tmp_path, seed=5)
    out = tmp_path / "out" / "fitted.hgx"
    sampling = ["--uncertainty", "--uncertainty-samples", "3000", "--uncertainty-burn", "100"]
    done = wide(
        "fit",
        str(model),
        "--out",
        str(out),
        "--seed",
        "1",
        "--max-generations",
        "20",
        *sampling,
        cwd=tmp_path,
    )
    posterior = json.loads((out.parent / "result.json").read_text())["extra"]["posterior"]
    assert "parameters" in posterior, posterior
    header = next(line for line in done.stdout.splitlines() if "parameter" in line and "value" in line)
    for column in ("± (68 %)", "median", "95 % interval", "R̂"):
        assert column in header, header
    for q in posterior["parameters"]:
        row = next(line for line in done.stdout.splitlines() if q["name"] in line)
        value = next(
            p["value"]
            for p in json.loads((out.parent / "result.json").read_text())["parameters"]
            if p["name"] == q["name"]
        )
        assert f"{signed(q['p68'][0] - value)} / {signed(q['p68'][1] - value)}" in row, row
    verdict = "converged" if posterior["converged"] else "not converged ("
    assert f"posterior: {posterior['draws']} draws, {verdict}" in done.stdout
    assert "corner.png, band.png" in done.stdout
    for png in ("corner.png", "band.png"):
        with Image.open(out.parent / png) as image:
            image.verify()
    with (out.parent / "parameters.csv").open() as table:
        assert {"median", "p68_low", "p68_high", "r_hat"} <= set(next(csv.reader(table)))


def test_a_local_watch_shows_each_fits_sampling_under_its_table() -> None:
    lines = SamplingLines()
    table = Table("file")
    lines(Progress(3, 20, 0.1, 100, 1.0, sampling=SamplingStatus(0, 3000, 40, 100)))
    lines(Progress(4, 20, 0.1, 100, 1.0, sampling=SamplingStatus(1200, 3000, 160, 100)))
    console = Console(record=True, width=120)
    console.print(lines.under(table))
    shown = console.export_text()
    assert "job 3: sampling the posterior: burn-in 40/100 generations" in shown
    assert "job 4: sampling the posterior: 1200/3000 draws" in shown
    lines(Failed(3, "Cancelled", "cancelled"))  # its task's end
    lines(Progress(4, 5, 0.1, 100, 1.0))  # a new run of job 4, fitting again
    assert lines.under(table) is table
