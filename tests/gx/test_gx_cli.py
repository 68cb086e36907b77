"""``metagenx convert`` and GenX 2 files on the command line (``info``)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from metagenx.cli import main
from metagenx.engine.gx import GENX2_NOTE, read_gx
from metagenx.engine.runtime import genx


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at the terminal width; keep each message on one line for the assertions."""
    monkeypatch.setenv("COLUMNS", "400")


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``metagenx ARGS``; returns exit code, stdout and stderr."""
    try:
        main(args)
        code = 0
    except SystemExit as exit_info:
        code = int(exit_info.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("suffix", [".hgx", ".gx"])
def test_convert_genx2_file(
    genx2_dir: Path, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = genx2_dir / "X-ray_Reflectivity.gx"
    before = digest(source)
    target = tmp_path / f"new{suffix}"
    code, out, _ = run_cli(["convert", str(source), str(target)], capsys)
    assert code == 0, out
    assert GENX2_NOTE in out and "tab indentation expanded" in out
    assert "parameter grid and data equal the originals exactly" in out
    assert "best FOM stored by the original optimizer" in out
    assert target.exists() and digest(source) == before
    assert not list(tmp_path.glob(".*converting*"))
    modules = genx()
    controller = modules.model_control.ModelController(modules.diffev.DiffEv())
    controller.load_file(str(target))
    assert [tuple(row) for row in controller.get_model().parameters.data] == read_gx(source).parameters


def test_convert_refuses_to_replace_its_source(
    genx2_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = Path(shutil.copy(genx2_dir / "Peakfit_Gauss.gx", tmp_path / "mine.gx"))
    before = digest(source)
    for extra in ([], ["--force"]):
        code, _, err = run_cli(["convert", str(source), str(source), *extra], capsys)
        assert code != 0 and "--replace-source" in err
        assert digest(source) == before
    code, _, _ = run_cli(["convert", str(source), str(source), "--replace-source", "--no-check"], capsys)
    assert code == 0 and read_gx(source).generation == 3


def test_convert_refuses_an_existing_target_without_force(
    genx2_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "exists.hgx"
    target.write_bytes(b"keep me")
    source = genx2_dir / "Peakfit_Gauss.gx"
    code, _, err = run_cli(["convert", str(source), str(target), "--no-check"], capsys)
    assert code != 0 and "--force" in err and target.read_bytes() == b"keep me"
    code, _, _ = run_cli(["convert", str(source), str(target), "--no-check", "--force"], capsys)
    assert code == 0 and target.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"


def test_info_says_genx2_and_what_was_mended(genx2_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["info", str(genx2_dir / "SuperAdam_SiO.gx")], capsys)
    assert code == 0
    assert "GenX 2 file" in out and "tab indentation expanded" in out and "'values'" in out
