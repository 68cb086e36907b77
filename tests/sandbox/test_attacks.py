"""The attack suite: hostile models through the Controller and sandboxed runners, a normal fit beside each.

Each probe is run once without a sandbox, where its bounded twin must succeed (a broken
probe cannot pass silently), then in the sandbox, where it must be stopped with the
right reason while a normal fit in the same study finishes with the same FOM as an
unsandboxed fit. One controller and executor serve every attack, like a server.
"""

from __future__ import annotations

import os
import pickle
import re
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import metagenx
from metagenx.controller import Controller
from metagenx.engine.gx.archive import DEFAULT_LIMITS
from metagenx.engine.model import GenxModel
from metagenx.executors import LocalExecutor
from metagenx.jobs import JobSpec
from metagenx.runner.process import RunnerProcess
from metagenx.sandbox import SandboxPolicy, sandboxed_runner_factory
from metagenx.sandbox.uids import uids_in_use
from metagenx.store import Job, JobFilter, JobState, Store, StudyKind, list_jobs, open_store
from metagenx.study.submit import submit_study
from tests.sandbox.conftest import NORMAL_SETTINGS, Listener, with_script_prefix
from tests.sandbox.probes import PROBES, Probe, Targets

pytestmark = pytest.mark.slow


@dataclass
class World:
    """Everything the attacks share: folders, the store, the sandboxed controller, the probe targets."""

    base: Path
    store: Store
    controller: Controller
    targets: Targets
    superadam: Path
    reference_fom: float


def jobs_of(store: Store, study: int) -> list[Job]:
    with store.session() as session:
        return list_jobs(session, JobFilter(study_id=study), limit=100)


def run_study(world: World, controller: Controller, name: str, specs: list[JobSpec], owner: str) -> list[Job]:
    study = submit_study(
        world.store,
        project="attacks",
        name=name,
        kind=StudyKind.STUDY,
        specs=specs,
        directory=world.base / "studies" / owner / name,
        owner=owner,
    )
    controller.run(study)
    return jobs_of(world.store, study)


def normal(superadam: Path) -> JobSpec:
    return JobSpec(label="normal", model_path=str(superadam), settings=NORMAL_SETTINGS)


def attack_beside_normal(world: World, name: str, model: Path) -> dict[str, Job]:
    """Run the hostile ``model`` and a normal fit in one study on the sandboxed controller; jobs by label."""
    attack = JobSpec(label="attack", model_path=str(model), settings=NORMAL_SETTINGS)
    done = run_study(world, world.controller, name, [attack, normal(world.superadam)], owner="mallory")
    return {str(j.label): j for j in done}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, policy: SandboxPolicy, listener: Listener, superadam: Path
) -> Iterator[World]:
    base = tmp_path_factory.mktemp("attacks")
    for folder in ("evidence", "outside", "server", "models"):
        (base / folder).mkdir()
        (base / folder).chmod(0o777)  # so that only the sandbox, not file modes, keeps a runner out
    secret = base / "server" / "secret.key"
    secret.write_text(secrets.token_hex(16))
    store = open_store(f"sqlite:///{base / 'metagenx.db'}", base)
    controller = Controller(store, LocalExecutor(workers=2, runner_factory=sandboxed_runner_factory(policy)))
    reference = metagenx.fit(superadam, **NORMAL_SETTINGS).fom
    placeholder = Targets(base / "evidence", secret, base, base / "outside", base, 0, 0)
    made = World(base, store, controller, placeholder, superadam, reference)
    victim = run_study(made, controller, "victim", [normal(superadam)], owner="alice")[0]
    assert victim.state is JobState.SUCCEEDED, victim.last_error
    (other_job,) = (base / "studies" / "alice" / "victim" / "jobs").glob("*/result.json")
    made.targets = Targets(
        base / "evidence", secret, other_job, base / "outside", base, listener.tcp_port, listener.udp_port
    )
    yield made
    controller.close()
    store.close()


def probe_model(world: World, probe: Probe, *, sandboxed: bool, jobs: Path) -> Path:
    targets = Targets(**{**vars(world.targets), "jobs": jobs})
    suffix = "attack" if sandboxed else "bounded"
    target = world.base / "models" / f"{probe.name}-{suffix}.hgx"
    return with_script_prefix(world.superadam, probe.code(targets, sandboxed=sandboxed), target)


def test_every_probe_works_without_a_sandbox(world: World, listener: Listener) -> None:
    """Control: unsandboxed, each bounded probe succeeds and leaves its evidence."""
    name = "unsandboxed"
    jobs = world.base / "studies" / "mallory" / name / "jobs"
    specs = [
        JobSpec(
            label=p.name,
            model_path=str(probe_model(world, p, sandboxed=False, jobs=jobs)),
            settings=NORMAL_SETTINGS,
        )
        for p in PROBES
    ]
    listener.clear()
    plain = Controller(world.store, LocalExecutor(workers=2, runner_factory=RunnerProcess))
    try:
        done = run_study(world, plain, name, specs, owner="mallory")
    finally:
        plain.close()
    failed = {j.label: j.last_error for j in done if j.state is not JobState.SUCCEEDED}
    assert not failed, failed
    evidence = world.targets.evidence
    assert (evidence / "shadow").read_text() == Path("/etc/shadow").read_text()
    assert (evidence / "secret").read_text() == world.targets.secret.read_text()
    assert (evidence / "other-job").read_text() == world.targets.other_job.read_text()
    assert (world.targets.outside / "pwned.txt").read_text() == "pwned"
    assert b"stolen over tcp" in listener.received and b"stolen over udp" in listener.received
    big = list(jobs.glob("*/big.bin"))
    assert big and all(f.stat().st_size == 20 * 2**20 for f in big)  # GenX may compile the script twice
    for item in [*evidence.iterdir(), world.targets.outside / "pwned.txt", *big]:
        item.unlink()


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_attack_is_stopped_while_a_normal_fit_beside_it_finishes(
    world: World, listener: Listener, probe: Probe
) -> None:
    jobs = world.base / "studies" / "mallory" / probe.name / "jobs"
    model = probe_model(world, probe, sandboxed=True, jobs=jobs)
    listener.clear()
    done = attack_beside_normal(world, probe.name, model)
    hostile, beside = done["attack"], done["normal"]
    assert hostile.state is JobState.FAILED, f"{probe.name} was not stopped"
    assert re.search(probe.reason, hostile.last_error or ""), hostile.last_error
    assert hostile.runs == 1, "a stopped attack is not retried"
    assert beside.state is JobState.SUCCEEDED and beside.fom == world.reference_fom
    assert not listener.received and listener.connections == 0, "the listener heard from the sandbox"
    assert not any(world.targets.evidence.iterdir()) and not (world.targets.outside / "pwned.txt").exists()
    assert sum(f.stat().st_size for f in jobs.glob("*/big.bin")) <= 50 * 2**20


def gx_copy(world: World, name: str) -> Path:
    """The normal example saved as a GenX 3 ``.gx`` (a zip of pickles)."""
    return GenxModel.load(world.superadam).save(world.base / "models" / name)


def replace_members(path: Path, target: Path, replace: dict[str, bytes], bomb: str | None = None) -> Path:
    """Copy the zip ``path`` to ``target`` with members replaced; ``bomb``: a member of 300 MiB of zeros."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if info.filename == bomb:
                with out.open(info.filename, "w", force_zip64=True) as stream:
                    for _ in range(300):
                        stream.write(bytes(2**20))
            else:
                out.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
    return target


def test_a_zip_bomb_gx_is_refused_inside_the_sandbox(world: World) -> None:
    bomb = replace_members(
        gx_copy(world, "plain-for-bomb.gx"), world.base / "models" / "bomb.gx", {}, bomb="data"
    )
    with zipfile.ZipFile(bomb) as archive:  # control: it really unpacks to more than the reader allows
        assert archive.getinfo("data").file_size > DEFAULT_LIMITS.member_bytes
    assert bomb.stat().st_size < 2 * 2**20
    done = attack_beside_normal(world, "zip-bomb", bomb)
    assert done["attack"].state is JobState.FAILED
    assert "zip bomb" in (done["attack"].last_error or "")
    assert done["normal"].fom == world.reference_fom


def test_a_gx_whose_pickle_runs_code_is_refused_inside_the_sandbox(world: World) -> None:
    marker = world.targets.evidence / "pickle-ran"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    hostile = replace_members(gx_copy(world, "plain-for-pickle.gx"), world.base / "models" / "pickle.gx",
                              {"parameters": payload})  # fmt: skip
    pickle.loads(payload)  # control: unpickled the usual way, it runs
    assert marker.exists()
    marker.unlink()
    done = attack_beside_normal(world, "pickle", hostile)
    assert done["attack"].state is JobState.FAILED
    assert re.search(r"os\.system.*nothing in it was run", done["attack"].last_error or ""), done[
        "attack"
    ].last_error
    assert not marker.exists()
    assert done["normal"].fom == world.reference_fom


def test_the_server_stays_healthy_after_the_attacks(world: World, policy: SandboxPolicy) -> None:
    specs = [
        JobSpec(label=f"seed={s}", model_path=str(world.superadam), settings={**NORMAL_SETTINGS, "seed": s})
        for s in (1, 2)
    ]
    done = run_study(world, world.controller, "after", specs, owner="alice")
    assert all(j.state is JobState.SUCCEEDED for j in done)
    assert next(j for j in done if j.label == "seed=1").fom == world.reference_fom
    outputs = list((world.base / "studies" / "alice" / "after" / "jobs").iterdir())
    assert len(outputs) == 2
    for folder in outputs:
        assert all(p.stat().st_uid == os.geteuid() and not p.is_symlink() for p in folder.iterdir())
    world.controller.close()
    sandbox_uids = set(range(policy.uid_base, policy.uid_base + policy.uid_count))
    assert not uids_in_use() & sandbox_uids, "no sandboxed process outlives the executor"
