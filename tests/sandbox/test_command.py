"""The bubblewrap command line, the limit messages and the seccomp program, without starting anything."""

from __future__ import annotations

import json
import signal
import types
from pathlib import Path

import pytest

from metagenx.errors import OutputError
from metagenx.events import Failed
from metagenx.jobs import DataAssignment, FitTask
from metagenx.sandbox import Limits, SandboxPolicy, seccomp
from metagenx.sandbox.command import Mounts, bwrap_command, mounts_for, writable_directory
from metagenx.sandbox.policy import GiB, MiB
from metagenx.sandbox.reasons import from_death, from_error

LIMITS = Limits(cpu_seconds=10, memory_bytes=2 * GiB, wall_seconds=30, max_output_bytes=50 * MiB)


def command(monkeypatch: pytest.MonkeyPatch, mounts: Mounts) -> list[str]:
    monkeypatch.setenv("METAGENX_SECRET_TOKEN", "s3cret")
    return bwrap_command("/usr/bin/bwrap", SandboxPolicy(limits=LIMITS), LIMITS, mounts, 70007)


def test_the_sandbox_has_no_network_no_capabilities_and_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = command(monkeypatch, Mounts("/srv/data/studies/a/jobs", frozenset({"/srv/data/uploads/m.hgx"})))
    text = " ".join(argv)
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
                 "--new-session", "--clearenv", "--cap-drop ALL"):  # fmt: skip
        assert flag in text
    assert "--share-net" not in argv and "s3cret" not in text and "/etc/shadow" not in text
    assert "--bind /srv/data/studies/a/jobs /srv/data/studies/a/jobs" in text
    assert "--ro-bind-try /srv/data/uploads/m.hgx /srv/data/uploads/m.hgx" in text
    assert "--size 268435456 --tmpfs /tmp" in text
    binds = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--bind"]
    assert binds == ["/srv/data/studies/a/jobs"], "the only writable host directory"
    config = json.loads(argv[-1])
    assert config["uid"] == 70007 and config["rlimits"]["as"] == [2 * GiB, 2 * GiB]
    assert config["rlimits"]["fsize"] == [50 * MiB, 50 * MiB] and config["rlimits"]["core"] == [0, 0]


def test_the_writable_directory_is_the_studys_jobs_folder() -> None:
    assert writable_directory("/d/studies/s/jobs/00001-x/m.hgx") == "/d/studies/s/jobs"
    assert writable_directory("/home/me/fits/m.hgx") == "/home/me/fits"
    task = FitTask(1, "/u/m.hgx", {}, output="/d/s/jobs/1/m.hgx", data=[DataAssignment(0, "/u/a.dat")])
    assert mounts_for(task) == Mounts("/d/s/jobs", frozenset({"/u/m.hgx", "/u/a.dat"}))
    with pytest.raises(OutputError, match="top-level"):
        mounts_for(FitTask(1, "/u/m.hgx", {}, output="/tmp/m.hgx"))


def test_a_warm_sandbox_covers_tasks_with_the_same_or_fewer_files() -> None:
    wide = Mounts("/s/jobs", frozenset({"/u/a", "/u/b"}))
    assert wide.covers(Mounts("/s/jobs", frozenset({"/u/a"})))
    assert not wide.covers(Mounts("/s/jobs", frozenset({"/u/c"})))
    assert not wide.covers(Mounts("/t/jobs", frozenset({"/u/a"})))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"kind": "MemoryError", "message": "ran out of memory"}, "stopped: used more than 2 GiB of memory"),
        ({"kind": "ModelScriptError", "message": "OSError: [Errno 27] File too large"},
         "stopped: wrote a file larger than the output limit of 50 MiB"),
        ({"kind": "ModelScriptError", "message": "BlockingIOError: [Errno 11] Resource temporarily unavail"},
         "stopped: started more than 64 processes"),
        ({"kind": "ModelScriptError", "message": "ZeroDivisionError: division by zero"}, None),
    ],
)  # fmt: skip
def test_kernel_refusals_become_limit_messages(message: dict[str, str], expected: str | None) -> None:
    assert from_error(Failed(1, message["kind"], message["message"]), LIMITS) == expected


def test_limit_deaths_become_limit_messages() -> None:
    assert from_death(128 + signal.SIGXCPU, LIMITS, 0) == "stopped: used more than 10 s of CPU time"
    assert (
        from_death(-signal.SIGXFSZ, LIMITS, 0)
        == "stopped: wrote a file larger than the output limit of 50 MiB"
    )
    assert from_death(-signal.SIGKILL, LIMITS, 2 * GiB) == "stopped: used more than 2 GiB of memory"
    assert from_death(-signal.SIGKILL, LIMITS, 100 * MiB) is None, "killed by hand or by the executor"


def test_the_seccomp_program_is_whole_instructions() -> None:
    code = seccomp.program()
    assert len(code) % 8 == 0 and 50 < len(code) // 8 < 4096


def test_the_policy_refuses_nonsense_limits() -> None:
    from metagenx.errors import SettingsError

    with pytest.raises(SettingsError, match="positive"):
        Limits(cpu_seconds=0)
    assert "CPU 10 s, memory 2 GiB, wall 30 s, output 50 MiB" in LIMITS.describe()


def test_all_matches_the_public_names() -> None:
    import metagenx.sandbox as sandbox

    public = {
        name
        for name, value in vars(sandbox).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert set(sandbox.__all__) == public


def test_jobs_of_one_study_with_different_data_files_share_a_warm_sandbox(tmp_path: Path) -> None:
    study = tmp_path / "studies" / "alice" / "beam" / "series"
    model = tmp_path / "uploads" / "abc.hgx"

    def task(job: int, data: str) -> FitTask:
        return FitTask(
            job_id=job,
            model_path=str(model),
            settings={},
            output=str(study / "jobs" / f"{job:05d}-x" / "abc.hgx"),
            data=[DataAssignment(0, str(study / "data" / data))],
        )

    first, second = mounts_for(task(1, "a1/T20.dat")), mounts_for(task(2, "b2/T30.dat"))
    assert first.readonly == {str(model), str(study / "data")}
    assert first.covers(second)
    elsewhere = FitTask(
        job_id=3,
        model_path=str(model),
        settings={},
        output=str(study / "jobs" / "3" / "m.hgx"),
        data=[DataAssignment(0, str(tmp_path / "other" / "T40.dat"))],
    )
    assert not first.covers(mounts_for(elsewhere)), "a file outside the study is mounted on its own"
