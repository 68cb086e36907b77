"""`metagenx cluster`: a local cluster as a user starts and stops it; Slurm/PBS job scripts (--dry-run:
no batch system here, so the script text is what is tested)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from metagenx.cli import app
from tests.dask.conftest import worker_pids

PINNED = "export NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1"
RESOURCES = ["--jobs", "2", "--cores", "8", "--memory", "16GB", "--walltime", "02:30:00"]
WHERE = ["--queue", "short", "--account", "proj42", "--host", "login1", "--scheduler-port", "8786"]


def dry_run(system: str, *extra: str) -> str:
    result = CliRunner().invoke(app, ["cluster", system, *RESOURCES, *WHERE, *extra, "--dry-run"])
    assert result.exit_code == 0, result.output
    return result.output


def test_slurm_dry_run_prints_a_job_script_with_the_resources_and_pinned_threads() -> None:
    script = dry_run("slurm", "--job-directive", "--constraint=haswell")
    for line in [
        "#SBATCH -p short",
        "#SBATCH -A proj42",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=15G",
        "#SBATCH -t 02:30:00",
        "#SBATCH --constraint=haswell",
        PINNED,
    ]:
        assert line in script.splitlines(), line
    assert re.search(r"dask_worker tcp://login1:8786 .*--nthreads 1 .*--nworkers 8", script)


def test_pbs_dry_run_prints_a_job_script_with_the_resources_and_pinned_threads() -> None:
    script = dry_run("pbs")
    for line in ["#PBS -q short", "#PBS -A proj42", "#PBS -l select=1:ncpus=8:mem=15GB"]:
        assert line in script.splitlines(), line
    assert "#PBS -l walltime=02:30:00" in script.splitlines() and PINNED in script.splitlines()
    assert re.search(r"dask_worker tcp://login1:8786 .*--nthreads 1 .*--nworkers 8", script)


def test_bad_adaptive_bounds_are_refused() -> None:
    result = CliRunner().invoke(app, ["cluster", "slurm", *RESOURCES, "--min-jobs", "4", "--max-jobs", "2"])
    assert result.exit_code != 0 and "--max-jobs 2 must be at least" in str(result.exception)


@pytest.mark.timeout(90)
def test_cluster_local_prints_its_address_serves_workers_and_stops_on_ctrl_c() -> None:
    command = [
        sys.executable,
        "-m",
        "metagenx",
        "cluster",
        "local",
        "--workers",
        "2",
        "--scheduler-port",
        "0",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        address = None
        for line in process.stdout:
            if match := re.match(r"scheduler: (tcp://127\.0\.0\.1:\d+)", line):
                address = match.group(1)
                break
        assert address, "the address is printed"
        assert len(worker_pids(address)) == 2
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - started < 30
    finally:
        if process.poll() is None:
            process.kill()
