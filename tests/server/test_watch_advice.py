"""A server watch with targets: each series row carries σ, the verdicts and the advice line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from rich.console import Console

from tests.engine.counting import counted_file, counting_template
from tests.server.conftest import StartApi
from tests.server.test_watches import all_finished, create, push, wait_series

TARGETS = {"SiO.setD": 0.07}


def test_series_rows_carry_sigma_verdicts_and_advice(
    start_api: StartApi, superadam: Path, tmp_path: Path
) -> None:
    template, curve = counting_template(superadam, tmp_path)
    api = start_api(workers=1)
    definition = {
        "name": "advised",
        "settings": {"seed": 1, "max_generations": 30, "population": 10},
        "loader_options": {"commands": "loader"},
    }
    for bad in ({"SiO.setD": -1}, {"SiO.setD": "x"}, {"": 1.0}):
        refused = create(api, template, json.dumps(definition | {"targets": bad}))
        assert refused.status_code == 422, refused.text
    made = create(api, template, json.dumps(definition | {"targets": TARGETS}))
    assert made.status_code == 201 and made.json()["targets"] == TARGETS, made.text
    watch_id = made.json()["id"]
    for name, time, seed in (("t1.dat", 1.0, 21), ("t4.dat", 4.0, 22)):
        assert push(api, watch_id, name, counted_file(curve, time, seed)).status_code == 201

    series = wait_series(api, watch_id, all_finished(2))
    rows = {row["label"]: row for row in series["rows"]}
    assert all(row["state"] == "succeeded" for row in rows.values()), rows
    short, long = rows["t1.dat"], rows["t4.dat"]
    assert set(short["sigma"]) == {"SiO.setD", "SiO.setDens", "SiO.setSigma"}
    assert 1.6 < short["sigma"]["SiO.setD"] / long["sigma"]["SiO.setD"] < 2.5  # 1/√4, within the noise
    assert short["verdicts"]["SiO.setD"].startswith("count about ") and long["verdicts"] == {
        "SiO.setD": "reached"
    }
    assert "SiO.setD ±" in long["advice"] and "(target 0.07): reached" in long["advice"]

    table = api.get(f"/api/v1/watches/{watch_id}/table", params={"format": "csv"})
    lines = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["verdict:SiO.setD"] for r in lines] == [short["verdicts"]["SiO.setD"], "reached"]
    assert (
        float(lines[1]["sigma:SiO.setD"]) == long["sigma"]["SiO.setD"]
        and lines[1]["advice"] == long["advice"]
    )


def test_a_watch_pushed_from_the_command_line_carries_its_targets(superadam: Path, tmp_path: Path) -> None:
    """`metagenx watch --server --target …` sends the targets in the watch's definition, which the
    server's schema takes, and shows the rows the server sends back with their σ and verdicts."""
    from metagenx.cli.watch import rows_table
    from metagenx.server.watch_schemas import WatchCreate
    from metagenx.watch.remote import RemoteWatch
    from metagenx.watch.session import WatchConfig

    config = WatchConfig(template=superadam, folder=tmp_path, targets=TARGETS)
    remote = RemoteWatch(config, None, "default")  # type: ignore[arg-type]
    assert WatchCreate.model_validate(remote.definition()).targets == TARGETS  # (no request made)
    remote.series = {
        "rows": [
            {
                "job_id": 1, "label": "t1.dat", "file_index": 0, "sha256": "ab", "order_value": None,
                "state": "succeeded", "fom": 0.05, "parameters": {"SiO.setD": 1205.3}, "error": None,
                "sigma": {"SiO.setD": 0.101}, "verdicts": {"SiO.setD": "count about 2.1× longer"},
                "advice": "SiO.setD ±0.101 (target 0.07): count about 2.1× longer", "progress": None,
            }
        ]
    }  # fmt: skip
    console = Console(record=True, width=200)
    console.print(rows_table(remote.rows()))
    shown = console.export_text()
    assert "1205.3 ± 0.101" in shown and "SiO.setD: count about 2.1× longer" in shown
    assert "advice for t1.dat: SiO.setD ±0.101" in shown
