"""numba's compiled GenX kernels inside the sandbox: each sandbox works on a copy of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metagenx.events import Finished
from metagenx.jobs import FitTask
from metagenx.sandbox import SandboxedRunnerProcess, SandboxPolicy
from tests.sandbox.conftest import NORMAL_SETTINGS


@pytest.fixture
def sandbox_on_copy(
    kernel_cache: Path, policy: SandboxPolicy, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxedRunnerProcess]:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(kernel_cache))
    monkeypatch.setenv("METAGENX_KERNELS", "numba")
    process = SandboxedRunnerProcess(policy)
    yield process
    process.close()


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_a_sandboxed_fit_runs_on_numba_from_its_own_copy_of_the_compiled_kernels(
    sandbox_on_copy: SandboxedRunnerProcess, kernel_cache: Path, xray: Path, tmp_path: Path
) -> None:
    before = snapshot(kernel_cache)
    task = FitTask(
        job_id=1,
        model_path=str(xray),
        settings=NORMAL_SETTINGS,
        output=str(tmp_path / "jobs" / "00001-fit" / "fit.hgx"),
    )
    outcome = sandbox_on_copy.run(task, lambda message: None)
    assert outcome.ok, outcome.message
    assert isinstance(outcome.message, Finished)
    assert outcome.message.result.extra["kernels"]["kernels"] == "numba"
    assert snapshot(kernel_cache) == before, "the server's compiled kernels are only read"
