"""Studies over HTTP: a definition with its files, resubmitted safely; table, summary, plots, events."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from metagenx.cli.client import study_upload
from metagenx.engine.settings import FitSettings
from tests.server.conftest import Api
from tests.study.conftest import simulate_curve, write_columns

SEEDS = {
    "name": "seeds",
    "template": "X-ray_Reflectivity.hgx",
    "seeds": [1, 2],
    "settings": {"max_generations": 2},
}


def post_study(
    api: Api, definition: dict[str, Any], files: list[tuple[str, Path]], user: str = "alice"
) -> Any:
    parts = [("files", (name, path.read_bytes())) for name, path in files]
    return api.post("/api/v1/studies", user, files=parts, data={"definition": json.dumps(definition)})


def test_a_study_runs_and_reports(api: Api, xray: Path) -> None:
    submitted = post_study(api, SEEDS, [(xray.name, xray)])
    assert submitted.status_code == 201, submitted.text
    study = submitted.json()
    assert study["name"] == "seeds" and study["jobs"] == 2 and study["created"] is True

    events = api.events(f"/api/v1/studies/{study['id']}/events")
    assert events[-1] == ("end", {"study_id": study["id"], "counts": events[-1][1]["counts"]})
    assert events[-1][1]["counts"]["succeeded"] == 2
    assert {d["state"] for k, d in events if k == "state"} >= {"succeeded"}

    again = post_study(api, SEEDS, [(xray.name, xray)])
    assert again.status_code == 200 and again.json()["id"] == study["id"]
    assert again.json()["jobs"] == 2 and again.json()["created"] is False

    table = api.get(f"/api/v1/studies/{study['id']}/table").json()
    assert [row["seed"] for row in table["rows"]] == [1, 2] and all(row["fom"] for row in table["rows"])
    csv = api.get(f"/api/v1/studies/{study['id']}/table", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and len(csv.text.splitlines()) == 3
    summary = api.get(f"/api/v1/studies/{study['id']}/summary").json()
    assert summary["study"]["counts"]["succeeded"] == 2 and summary["problems"]
    plot = api.get(f"/api/v1/studies/{study['id']}/plots/fom_distribution.png")
    assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")
    assert api.get(f"/api/v1/studies/{study['id']}/plots/nothing.png").status_code == 404
    listed = api.get("/api/v1/studies").json()
    assert [s["id"] for s in listed["items"]] == [study["id"]]
    jobs = api.get("/api/v1/jobs", params={"study": study["id"]}).json()
    assert jobs["total"] == 2 and {j["label"] for j in jobs["items"]} == {"seed=1", "seed=2"}


def test_bad_studies_are_refused_with_the_key(api: Api, xray: Path, tmp_path: Path) -> None:
    unknown = post_study(api, SEEDS | {"sedes": [1]}, [(xray.name, xray)])
    assert unknown.status_code == 422 and "sedes" in unknown.json()["detail"]
    missing = post_study(api, SEEDS | {"template": "other.hgx"}, [(xray.name, xray)])
    assert missing.status_code == 422 and "other.hgx" in missing.json()["detail"]
    parameter = post_study(api, SEEDS | {"parameters": {"Nope.setD": {"min": 1}}}, [(xray.name, xray)])
    assert parameter.status_code == 422 and "Nope.setD" in parameter.json()["detail"]
    outside = post_study(api, SEEDS, [("../x.hgx", xray)])
    assert outside.status_code == 422
    text = tmp_path / "fake.hgx"
    text.write_text("not a model")
    fake = post_study(api, SEEDS | {"template": "fake.hgx"}, [("fake.hgx", text)])
    assert fake.status_code == 422 and "HDF5" in fake.json()["detail"]
    changed = post_study(api, SEEDS | {"settings": {"max_generations": 1}}, [(xray.name, text)])
    assert changed.status_code == 422
    assert api.get("/api/v1/jobs").json()["total"] == 0


def test_a_growing_data_batch_is_resubmitted_safely(api: Api, superadam: Path, tmp_path: Path) -> None:
    """The client's upload of a study file: rerunning it adds only the new data file's job."""
    folder = tmp_path / "beamtime"
    (folder / "data").mkdir(parents=True)
    template = shutil.copy(superadam, folder / "film.hgx")
    for index, thickness in enumerate((1150.0, 1180.0)):
        x, y = simulate_curve(superadam, thickness)
        write_columns(folder / "data" / f"T{index}.dat", x, y, f"temperature: {index}", seed=index)
    study_file = folder / "study.toml"
    study_file.write_text(
        'name = "batch"\ntemplate = "film.hgx"\nseeds = [1]\n'
        "[settings]\nmax_generations = 1\npopulation = 10\n"
        '[data]\nfiles = ["data/T*.dat"]\n',
        encoding="utf-8",
    )
    definition, files = study_upload(Path(template), study_file, FitSettings())
    assert [name for name, _ in files] == ["film.hgx", "data/T0.dat", "data/T1.dat"]
    first = post_study(api, definition, files).json()
    assert first["jobs"] == 2 and first["kind"] == "batch"

    x, y = simulate_curve(superadam, 1230.0)
    write_columns(folder / "data" / "T2.dat", x, y, "temperature: 2", seed=2)
    definition, files = study_upload(Path(template), study_file, FitSettings())
    second = post_study(api, definition, files)
    assert second.status_code == 201 and second.json()["id"] == first["id"]
    assert second.json()["jobs"] == 3
    assert post_study(api, definition, files).status_code == 200
    end = api.events(f"/api/v1/studies/{first['id']}/events")[-1]
    assert end[1]["counts"]["succeeded"] == 3
    stored = api.settings.data_dir / "studies" / "alice" / "default"
    assert sorted(p.name for p in next(stored.iterdir()).joinpath("data").iterdir()) == [
        "T0.dat",
        "T1.dat",
        "T2.dat",
    ]

    cancelled = api.post(f"/api/v1/studies/{first['id']}/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["counts"]["succeeded"] == 3
