"""Fault injection: a real study run by the real CLI, killed, interrupted and starved of disk.

Databases: a SQLite file, and a PostgreSQL schema of its own (``tests/store/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from metagenx.outputs.collect import FIT_OUTPUTS, POSTERIOR_OUTPUTS
from metagenx.outputs.names import SOLVE_JSON
from metagenx.store import Artifact, Event, EventKind, Job, JobState, open_store
from tests.server.conftest import api, start_api  # noqa: F401
from tests.store.conftest import pg_schema, pg_server_url  # noqa: F401
from tests.study.test_run import metagenx_cli as cli

FITS = 12
SETTINGS = "max_generations = 25\npopulation = 12\n"
"""Fits of about a second each: enough of them run when a fault strikes."""
OUTPUT_NAMES = {"SuperAdam_SiO.hgx", *FIT_OUTPUTS.values()} - {SOLVE_JSON, *POSTERIOR_OUTPUTS.values()}
"""What a fit writes into its job's folder."""


def write_study(folder: Path, model: Path, name: str = "faults") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    seeds = ", ".join(str(s) for s in range(1, FITS + 1))
    study = folder / f"{name}.toml"
    study.write_text(f'name = "{name}"\ntemplate = "{model}"\nseeds = [{seeds}]\n[settings]\n{SETTINGS}')
    return study


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'study' / 'faults' / 'metagenx.db'}"
        return
    with pg_schema(request.getfixturevalue("pg_server_url")) as url:
        yield url


@pytest.fixture(scope="module")
def reference(superadam: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """FOM per job label of the same study run undisturbed."""
    folder = tmp_path_factory.mktemp("undisturbed")
    study = write_study(folder, superadam)
    done = cli("study", "run", str(study), "--workers", "2", cwd=folder)
    _, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    with open_store(None, folder / "faults") as store, store.session() as session:
        return {str(job.label): float(job.fom or 0) for job in session.query(Job)}


@dataclass(frozen=True)
class Verdict:
    jobs: int
    reruns: int


def verify(url: str, folder: Path, reference: dict[str, float]) -> Verdict:
    """Every job has exactly one complete result equal to the undisturbed run's; no event, artifact
    or file twice; no temporary file left behind."""
    with open_store(url, folder) as store, store.session() as session:
        jobs = list(session.query(Job).order_by(Job.id))
        assert len(jobs) == FITS
        for job in jobs:
            label = str(job.label)
            assert job.state is JobState.SUCCEEDED, (label, job.state, job.last_error)
            assert job.result is not None and job.result["complete"] is True, label
            assert job.fom == reference[label], f"{label}: {job.fom} differs from the undisturbed run"
            successes = [
                e
                for e in session.query(Event).filter(Event.job_id == job.id, Event.kind == EventKind.STATE)
                if (e.data or {}).get("to") == "succeeded"
            ]
            assert len(successes) == 1, f"{label}: succeeded {len(successes)} times"
            kinds = [a.kind for a in session.query(Artifact).filter(Artifact.job_id == job.id)]
            assert sorted(kinds) == sorted(set(kinds)), f"{label}: files recorded twice: {kinds}"
        reruns = sum(job.runs - 1 for job in jobs)
    for job_folder in (folder / "jobs").iterdir():
        names = {p.name for p in job_folder.iterdir()}
        assert names == OUTPUT_NAMES, f"{job_folder.name}: {sorted(names)}"
    return Verdict(len(jobs), reruns)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
