"""The commands the docs and the Makefile give are real: the study example's, and ``make demo``'s."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer.main

from metagenx.cli.app import app

REPO = Path(__file__).resolve().parents[2]


def runs(args: list[str]) -> None:
    """``metagenx ARGS --help`` exits 0: the command and its options exist."""
    command = typer.main.get_command(app)
    try:
        command.main([*args, "--help"], prog_name="metagenx", standalone_mode=False)
    except SystemExit as exit:  # pragma: no cover - click exits only on errors here
        assert exit.code == 0, args


def test_the_study_example_names_the_study_run_command() -> None:
    text = (REPO / "docs" / "study-example.toml").read_text()
    commands = re.findall(r"`metagenx ([^`]*study-example\.toml)`", text)
    assert commands == ["study run study-example.toml"]
    runs(["study", "run"])


def test_make_demo_runs_a_bounded_solve_and_the_readme_says_where_it_writes() -> None:
    recipe = (REPO / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    line = next(line for line in recipe.splitlines() if "metagenx solve" in line)
    words = shlex.split(line.strip())
    assert "--budget" in words and float(words[words.index("--budget") + 1]) <= 120
    out = Path(words[words.index("--out") + 1])
    readme = (REPO / "README.md").read_text()
    assert f"`{out.parent.as_posix()}/`" in readme and f"`{out.name}`" in readme
    runs(["solve"])
