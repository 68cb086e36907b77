"""``metagenx cluster slurm`` on a real Slurm: docs/deployment.md's Slurm commands, run as the docs write them
(with this one-node cluster's sizes), start Dask workers as batch jobs, and a study on them gives the local
executor's numbers."""

from __future__ import annotations

import re
import shlex
import socket
import sys
import time
from pathlib import Path

import pytest

from metagenx.store import Job, JobState, open_store
from tests.slurm.conftest import Command
from tests.slurm.one_node import OneNodeSlurm

REPO = Path(__file__).resolve().parents[2]

SITE_VALUES = {
    "--cores 32": "--cores 1",
    "--memory 64GB": "--memory 2GB",
    "--max-jobs 10": "--max-jobs 2",
    "--workers 320": "--workers 2",
}
"""The docs' example sizes (a 32-core node, ten of them) replaced by what this 2-core node can hold; the
rest (partition ``compute``, account ``myproject``, walltime, options) runs as written."""

SEEDS = 4
STUDY = """name = "slurm-study"
template = "{model}"
seeds = [{seeds}]
[settings]
max_generations = 3
population = 6
"""


def slurm_section() -> str:
    text = (REPO / "docs" / "deployment.md").read_text()
    return text.split("## (c) A Slurm (or PBS) cluster from a login node", 1)[1].split("\n## ", 1)[0]


def shell_blocks(section: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def commands(block: str) -> list[list[str]]:
    """The commands of a shell block: continuation lines joined, comments dropped."""
    joined = block.replace("\\\n", " ")
    return [
        shlex.split(line, comments=True) for line in joined.splitlines() if shlex.split(line, comments=True)
    ]


def with_site_values(words: list[str]) -> list[str]:
    line = " ".join(words)
    for doc, here in SITE_VALUES.items():
        line = line.replace(doc, here)
    return line.split()


def test_the_docs_dry_run_prints_the_job_script_the_docs_show(slurm: OneNodeSlurm, tmp_path: Path) -> None:
    blocks = shell_blocks(slurm_section())
    (dry_run,) = commands(blocks[0])
    assert dry_run[-1] == "--dry-run"
    done = Command(dry_run[1:], tmp_path, slurm.env)
    assert done.wait(timeout=60) == 0, done.text()
    printed = [line for line in done.text().splitlines() if line.strip()]
    shown = [line for line in blocks[1].replace("\\\n", "").splitlines() if line.strip()]
    host = socket.gethostname()
    shown = [
        re.sub(r"\s+", " ", line.replace("/path/to/venv/bin/python", sys.executable).replace("login1", host))
        for line in shown
    ]
    assert printed == shown, "docs/deployment.md shows the script `--dry-run` prints"
    script = tmp_path / "worker.sh"
    script.write_text(done.text())
    refused = slurm.run("sbatch", "--test-only", str(script))
    assert refused.returncode != 0, "this 2-core node cannot hold a 32-core job"
    assert "Requested node configuration is not available" in refused.stderr, refused.stderr
    small = Command([*with_site_values(dry_run)[1:]], tmp_path, slurm.env)
    assert small.wait(timeout=60) == 0, small.text()
    script.write_text(small.text())
    accepted = slurm.run("sbatch", "--test-only", str(script))
    assert accepted.returncode == 0 and "in partition compute" in accepted.stderr, accepted.stderr


@pytest.mark.timeout(240)
def test_the_docs_slurm_commands_run_a_study_on_batch_job_workers_with_the_local_results(
    slurm: OneNodeSlurm, superadam: Path, tmp_path: Path
) -> None:
    blocks = shell_blocks(slurm_section())
    start, study_run = (with_site_values(words) for words in commands(blocks[2]))
    assert start[:3] == ["metagenx", "cluster", "slurm"] and "--dry-run" not in start
    assert study_run[:3] == ["metagenx", "study", "run"]
    seeds = ", ".join(str(s) for s in range(1, SEEDS + 1))
    (tmp_path / "study.toml").write_text(STUDY.format(model=superadam, seeds=seeds))

    local = Command(
        ["study", "run", "study.toml", "--out-dir", "local", "--workers", "2"], tmp_path, slurm.env
    )
    cluster = Command([*start[1:], "--scheduler-port", "0"], tmp_path, slurm.env)
    try:
        assert local.wait(timeout=180) == 0, local.text()
        address = cluster.wait_for(r"scheduler: (tcp://\S+)", timeout=60).group(1)
        arguments = study_run[1:]
        arguments[arguments.index("tcp://login1:8786")] = address
        on_slurm = Command(arguments, tmp_path, slurm.env)
        assert on_slurm.wait(timeout=180) == 0, on_slurm.text() + cluster.text()
        submitted = re.findall(r"worker job (\d+) submitted to Slurm", cluster.text())
        assert submitted, "adaptive scaling asked Slurm for worker jobs:\n" + cluster.text()
    finally:
        code = cluster.stop()
    assert code == 0, cluster.text()
    deadline = time.monotonic() + 30
    while slurm.live_jobs() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not slurm.live_jobs(), "Ctrl-C cancelled the worker jobs"
    assert {slurm.job_states()[job] for job in submitted} <= {"CANCELLED", "COMPLETED"}

    results = {name: fits(tmp_path / name) for name in ("slurm-study", "local")}
    assert len(results["local"]) == SEEDS
    assert results["slurm-study"] == results["local"], "same seeds, same numbers on Slurm's workers"


def fits(folder: Path) -> dict[str, tuple[float | None, object]]:
    """Label → (FOM, fitted parameters) of every succeeded job of the study in ``folder``."""
    with open_store(None, folder) as store, store.session() as session:
        jobs = session.query(Job).all()
        assert all(job.state is JobState.SUCCEEDED for job in jobs), [(j.label, j.last_error) for j in jobs]
        return {str(job.label): (job.fom, (job.result or {})["parameters"]) for job in jobs}
