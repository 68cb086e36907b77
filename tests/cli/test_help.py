"""The command line as a new user meets it: complete help, grouped commands, a version, wide
tables when piped."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from metagenx.cli.app import ADMIN, FITTING, MANY_FITS, SERVER, app


def metagenx(*args: str, columns: int | None = 250) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "metagenx", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_help_prints_every_text_as_written() -> None:
    shown = metagenx("submit", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "Server URL [env METAGENX_SERVER; config file; http://127.0.0.1:8000]." in shown.stdout
    assert "Bearer token [env METAGENX_TOKEN; config file]." in shown.stdout
    assert "<bool>" not in metagenx("fit", "--help").stdout
    solve = " ".join(metagenx("solve", "--help").stdout.split())
    assert "Wall-time cap, s (default 120); it returns sooner once sure." in solve


def test_without_the_help_pass_rich_drops_the_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    """The check above can fail: Typer's own rendering loses the bracketed text."""
    with pytest.raises(SystemExit):
        typer.main.get_command(app).main(["submit", "--help"], prog_name="metagenx")
    shown = capsys.readouterr().out
    assert "Server URL" in shown and "[env METAGENX_SERVER" not in shown


def test_commands_are_grouped_in_order_and_the_exit_codes_are_listed() -> None:
    shown = metagenx("--help").stdout
    panels = [shown.index(f"─ {name} ─") for name in (FITTING, MANY_FITS, SERVER, ADMIN)]
    assert panels == sorted(panels)
    fitting = shown[panels[0] : panels[1]]
    assert re.search(r"fit .*\n(.*\n)*.*solve .*\n(.*\n)*.*tune ", fitting)
    assert "Exit codes: 0 done; 1 the work failed" in shown


def test_version() -> None:
    shown = metagenx("--version")
    assert shown.returncode == 0
    assert re.fullmatch(r"metagenx \S+ \(GenX 3\.\d+\.\d+, Python 3\.\d+\.\d+\)\n", shown.stdout)


def test_tables_are_not_cut_when_the_output_is_piped(superadam: Path, tmp_path: Path) -> None:
    fit = ["fit", str(superadam), "--max-generations", "1", "--seed", "1", "--error-bars", "--out"]
    piped = metagenx(*fit, str(tmp_path / "piped.hgx"), columns=None)  # not a terminal: a log or a file
    assert piped.returncode == 0, piped.stderr
    assert "inst.setI0 " in piped.stdout and "inst.setIbkg " in piped.stdout and "…" not in piped.stdout
    narrow = metagenx(*fit, str(tmp_path / "narrow.hgx"), columns=80)  # what Rich did on its own
    assert "inst.setI…" in narrow.stdout, "the check above can fail"
