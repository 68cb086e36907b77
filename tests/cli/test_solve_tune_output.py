"""What ``solve`` and ``tune`` print reads as plain words: what each start did, what the
confidence means, where the answer and the tune's data are; no Optuna log lines, times to 3 digits."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from metagenx.cli.solve import show_solve
from metagenx.cli.solve_words import ending_words, start_words
from metagenx.solve import SolveSettings, solve, start_settings
from metagenx.solve.result import StartSummary

METAGENX = [sys.executable, "-m", "metagenx"]


def start(outcome: str, polished: bool = False) -> StartSummary:
    return StartSummary(0, 1, 0.0, 1.0, 0.1, 100, outcome, polished)


@pytest.mark.parametrize(
    ("outcome", "polished", "words"),
    [
        ("converged", True, "full DE search until it stopped improving, then refined by a local search"),
        (
            "scatter",
            True,
            "quick probe: a few DE generations from random points, then refined by a local search",
        ),
        ("budget", False, "cut short when the solve ended (its best so far)"),
        ("stopped: behind start 2 at equal effort", False, "stopped early, behind start 2 at equal effort"),
        ("error: model script failed", False, "failed: model script failed"),
    ],
)
def test_each_outcome_in_plain_words(outcome: str, polished: bool, words: str) -> None:
    assert start_words(start(outcome, polished)) == words


def test_a_solve_prints_what_its_starts_did_the_confidence_and_where_the_answer_is(
    xray: Path, tmp_path: Path
) -> None:
    quick = SolveSettings(fit=start_settings({"max_generations": 4}), budget=120, slots=2, max_starts=2)
    result = solve(xray, quick, out=tmp_path / "solved" / "xray.hgx")
    console = Console(record=True, width=240)
    show_solve(console, result)
    text = console.export_text()
    assert "polished" not in text and "scatter" not in text
    assert "what it did" in text and "same answer" in text
    words = re.search(
        r"confidence (\d\.\d\d): the estimated probability that the best FOM is the global minimum: "
        r"(\d+) finished search\(es\) found (one minimum|\d+ distinct minima)",
        " ".join(text.split()),
    )
    assert words is not None, text
    assert int(words.group(2)) == result.searches and float(words.group(1)) == round(result.confidence, 2)
    assert f"the answer: {tmp_path / 'solved' / 'xray.hgx'} (opens in GenX); plots: fit.png, fom.png" in text
    assert ending_words(result) in text


@pytest.mark.timeout(300)
def test_tune_says_where_its_data_lives_and_prints_no_optuna_log(xray: Path, tmp_path: Path) -> None:
    tiny = ["--trials", "1", "--seeds", "1", "--run-budget", "30", "--max-generations", "4"]
    command = [*METAGENX, "tune", str(xray), *tiny, "--out", str(tmp_path / "tuned")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=280, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    printed = done.stdout + done.stderr
    data = tmp_path / "metagenx-data"
    assert f"tune data in {data} (a new folder)" in " ".join(printed.split())
    assert "[I " not in printed and "Trial 0 finished" not in printed
    assert re.search(r"trial 0 done: ERT \d[\d.e+]* s \(km \d\.\d{1,3},", printed), printed
    assert re.search(r"best: ERT \d[\d.e+]* s, the expected time", printed)
    with (tmp_path / "tuned" / "trials.csv").open() as handle:
        row = next(csv.DictReader(handle))
    for column in ("ert_s", "duration_s"):
        digits = row[column].replace(".", "").lstrip("0").split("e")[0]
        assert 0 < len(digits) <= 3, row
