"""`metagenx tune` with a tiny budget: a settings file `fit` accepts, a study that resumes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from metagenx.solve.settings_file import read_settings_file
from metagenx.solve.tune_storage import open_tune_storage
from metagenx.store import open_store

METAGENX = [sys.executable, "-m", "metagenx"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*METAGENX, *args], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, f"metagenx {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_tune_writes_settings_that_fit_uses_and_resumes_the_same_study(
    superadam: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    tiny = ["--seeds", "1", "--run-budget", "2", "--max-generations", "6", "--data-dir", str(data)]
    run(
        "tune",
        str(superadam),
        "--trials",
        "2",
        "--study",
        "t1",
        "--out",
        str(tmp_path / "t1"),
        *tiny,
        cwd=tmp_path,
    )
    best = tmp_path / "t1" / "best.toml"
    tuned = read_settings_file(best).fit
    assert {"km", "kr", "population", "strategy", "polish"} <= set(tuned)
    assert tuned["max_generations"] == 6, "options given to tune are kept fixed in the file"
    assert (tmp_path / "t1" / "trials.csv").read_text().count("\n") == 3
    assert (tmp_path / "t1" / "optimization_history.png").is_file()

    short = ["--seed", "1", "--json", "--max-generations", "3"]
    plain = json.loads(run("fit", str(superadam), *short, "-o", "a/a.hgx", cwd=tmp_path).stdout)
    used = json.loads(
        run("fit", str(superadam), *short, "-o", "b/b.hgx", "--settings", str(best), cwd=tmp_path).stdout
    )
    assert used["settings"]["km"] == pytest.approx(tuned["km"]) != plain["settings"]["km"]
    assert used["settings"]["population"] == tuned["population"]
    assert used["settings"]["strategy"] == tuned["strategy"]
    assert used["generations"] == 3, "the explicit option wins over the file's max_generations"
    overridden = json.loads(
        run(
            "fit",
            str(superadam),
            "--json",
            "-o",
            "c/c.hgx",
            "--settings",
            str(best),
            "--km",
            "0.42",
            cwd=tmp_path,
        ).stdout
    )
    assert overridden["settings"]["km"] == 0.42, "an explicit option wins over the file"

    run(
        "tune",
        str(superadam),
        "--trials",
        "1",
        "--study",
        "t1",
        "--out",
        str(tmp_path / "t2"),
        *tiny,
        cwd=tmp_path,
    )
    store = open_store(None, data)
    try:
        study = optuna.load_study(study_name="t1", storage=open_tune_storage(store))
        assert len(study.trials) == 3, "the second run added its trial to the same study"
        assert "best_fom:SuperAdam_SiO.hgx" in study.user_attrs
    finally:
        store.close()
    assert (data / "metagenx-optuna.db").is_file() and (data / "metagenx.db").is_file()
