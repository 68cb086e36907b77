"""A watched folder during a simulated beamtime: files arrive over time, slowly, broken, while stopped."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from metagenx.engine.settings import FitSettings
from metagenx.store import Job, JobFilter, JobState, list_jobs
from metagenx.watch.files import Settler
from metagenx.watch.session import WatchConfig, WatchSession
from tests.study.conftest import simulate_curve

THICKNESS = {"run01.dat": 1150.0, "run02.dat": 1190.0, "run03.dat": 1230.0, "run04.dat": 1270.0}
"""The SiO thickness (Å) each simulated measurement was made with: a trend along the series."""


def measurement(superadam: Path, thickness: float, seed: int) -> bytes:
    x, y = simulate_curve(superadam, thickness)
    rng = np.random.default_rng(seed)
    error = 0.02 * y
    rows = np.column_stack([x, y + error * rng.standard_normal(y.size), error])
    lines = ["# 2theta R dR"] + [" ".join(f"{v:.10g}" for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def measurements(superadam: Path) -> dict[str, bytes]:
    return {name: measurement(superadam, d, i) for i, (name, d) in enumerate(THICKNESS.items())}


def fits_only_thickness(superadam: Path, folder: Path, sequential: bool = False) -> WatchConfig:
    return WatchConfig(
        template=superadam,
        folder=folder,
        pattern="*.dat",
        sequential=sequential,
        settings=FitSettings(seed=1, max_generations=12, population=10),
        loader_options={"commands": "loader"},
        settle=0.4,
    )


class Running:
    """A watch session in a background thread, as `metagenx watch` runs it."""

    def __init__(self, config: WatchConfig, out: Path) -> None:
        self.stop = threading.Event()
        self.session = WatchSession(config, out, workers=2)
        self.session.store  # noqa: B018  (opened now, closed by the session when it stops)
        self.thread = threading.Thread(target=self.session.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def jobs(self) -> list[Job]:
        with self.session.store.session() as session:
            return list_jobs(session, JobFilter(study_id=self.session.study_id), limit=100)

    def wait_for(self, done: Callable[[list[Job]], bool], timeout: float = 120.0) -> list[Job]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.session.study_id:
                jobs = self.jobs()
                if done(jobs):
                    return jobs
            time.sleep(0.3)
        raise AssertionError(f"timed out; jobs: {[(j.label, j.state) for j in self.jobs()]}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(60)


def finished(jobs: list[Job], count: int) -> bool:
    return len(jobs) >= count and all(j.state in (JobState.SUCCEEDED, JobState.FAILED) for j in jobs)


def test_every_file_is_fitted_once_slow_writes_wait_corrupt_fails_and_restart_catches_up(
    superadam: Path, measurements: dict[str, bytes], tmp_path: Path
) -> None:
    incoming, out = tmp_path / "incoming", tmp_path / "out"
    incoming.mkdir()
    (incoming / "run01.dat").write_bytes(measurements["run01.dat"])  # there before the watch starts
    watch = Running(fits_only_thickness(superadam, incoming), out)
    (incoming / "notes.txt").write_text("not a data file\n")
    (incoming / "run02.dat").write_bytes(measurements["run02.dat"])
    slow = measurements["run03.dat"]
    with (incoming / "run03.dat").open("wb") as handle:  # written in chunks over ~2 s
        for start in range(0, len(slow), len(slow) // 5 + 1):
            handle.write(slow[start : start + len(slow) // 5 + 1])
            handle.flush()
            time.sleep(0.35)
    (incoming / "broken.dat").write_text("# 2theta R dR\n0.1 0.2\ngarbage here\n")
    jobs = watch.wait_for(lambda js: finished(js, 4))
    watch.close()
    labels = sorted(str(j.label) for j in jobs)
    assert labels == ["broken.dat", "run01.dat", "run02.dat", "run03.dat"], "each file exactly once"
    broken = next(j for j in jobs if j.label == "broken.dat")
    assert broken.state is JobState.FAILED and "broken.dat" in (broken.last_error or "")
    for job in jobs:
        if job.state is JobState.SUCCEEDED:
            value = {p["name"]: p["value"] for p in job.result["parameters"]}["SiO.setD"]  # type: ignore[index]
            assert value == pytest.approx(THICKNESS[str(job.label)], rel=0.01)

    # While the watcher is down: a new file arrives, one is rewritten with new content, one is touched.
    (incoming / "run04.dat").write_bytes(measurements["run04.dat"])
    (incoming / "run01.dat").write_bytes(measurement(superadam, 1160.0, seed=9))
    (incoming / "run02.dat").write_bytes(measurements["run02.dat"])
    again = Running(fits_only_thickness(superadam, incoming), out)
    jobs = again.wait_for(lambda js: finished(js, 6))
    time.sleep(1.5)  # an unchanged file would have been queued by now
    jobs = again.jobs()
    again.close()
    labels = sorted(str(j.label) for j in jobs)
    assert labels == ["broken.dat", "run01.dat", "run01.dat", "run02.dat", "run03.dat", "run04.dat"]
    assert (out / "results.csv").exists() and (out / "parameter_trends.png").exists()


def test_sequential_watch_seeds_each_fit_from_the_previous_file(
    superadam: Path, measurements: dict[str, bytes], tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    watch = Running(fits_only_thickness(superadam, incoming, sequential=True), tmp_path / "out")
    for name in ("run01.dat", "run02.dat"):
        (incoming / name).write_bytes(measurements[name])
        time.sleep(0.8)
    jobs = watch.wait_for(lambda js: finished(js, 2))
    watch.close()
    first, second = sorted(jobs, key=lambda j: j.id)
    assert second.depends_on_job_id == first.id
    start = {p["name"]: p["start"] for p in second.result["parameters"]}  # type: ignore[index]
    fitted = {p["name"]: p["value"] for p in first.result["parameters"]}  # type: ignore[index]
    assert start["SiO.setD"] == fitted["SiO.setD"]


def test_settler_waits_until_a_file_stops_changing(tmp_path: Path) -> None:
    path = tmp_path / "a.dat"
    path.write_text("1 2 3\n")
    settler = Settler(settle=0.3)
    settler.saw(path)
    assert settler.ready() == []
    time.sleep(0.2)
    with path.open("a") as handle:
        handle.write("4 5 6\n")
    settler.saw(path)
    time.sleep(0.2)
    assert settler.ready() == [], "it changed 0.2 s ago"
    time.sleep(0.2)
    assert settler.ready() == [path]
    settler.saw(path)
    assert settler.ready() == [], "reported once per content"


def test_sequential_watch_carries_on_past_an_unreadable_file(
    superadam: Path, measurements: dict[str, bytes], tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "run01.dat").write_bytes(measurements["run01.dat"])
    (incoming / "broken.dat").write_text("# 2theta R dR\n0.1 0.2\ngarbage here\n")
    (incoming / "run02.dat").write_bytes(measurements["run02.dat"])  # queued behind the broken one
    watch = Running(fits_only_thickness(superadam, incoming, sequential=True), tmp_path / "out")
    jobs = watch.wait_for(lambda js: finished(js, 3))
    watch.close()
    first, broken, second = sorted(jobs, key=lambda j: j.id)
    assert broken.label == "broken.dat" and broken.state is JobState.FAILED
    assert second.state is JobState.SUCCEEDED and second.depends_on_job_id == first.id


def test_a_solving_watch_solves_each_file_and_recovers_the_trend(
    superadam: Path, measurements: dict[str, bytes], tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    config = dataclasses.replace(
        fits_only_thickness(superadam, incoming),
        settings=FitSettings(seed=1, max_generations=12),
        solve={"budget": 60, "max_starts": 2, "target_reliability": 0.5, "share": 0.5},
    )
    for name in ("run01.dat", "run04.dat"):
        (incoming / name).write_bytes(measurements[name])
    watch = Running(config, tmp_path / "out")
    jobs = watch.wait_for(lambda js: finished(js, 2))
    watch.close()
    for job in jobs:
        assert job.state is JobState.SUCCEEDED, job.last_error
        assert job.settings["solve"]["budget"] == 60
        assert 1 <= len(job.result["extra"]["solve"]["starts"]) <= 2  # type: ignore[index]
        value = {p["name"]: p["value"] for p in job.result["parameters"]}["SiO.setD"]  # type: ignore[index]
        assert value == pytest.approx(THICKNESS[str(job.label)], rel=0.01)
