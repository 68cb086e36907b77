"""The watch page shows each file's σ, the targets' verdicts and the latest advice (headless Chromium)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.engine.counting import counted_file, counting_template
from tests.server.test_e2e import Server
from tests.web.conftest import Watched
from tests.web.test_watch import ROWS, SUCCEEDED, post, signed_in


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_series_page_shows_sigma_verdicts_and_advice(
    server: Server, token: str, watched: Watched, superadam: Path, tmp_path: Path, artifacts: Path
) -> None:
    template, curve = counting_template(superadam, tmp_path)
    definition = {
        "name": "advised beamtime",
        "settings": {"seed": 1, "max_generations": 30, "population": 10},
        "loader_options": {"commands": "loader"},
        "targets": {"SiO.setD": 0.07},
    }
    files = {"template": (template.name, template.read_bytes())}
    watch = post(server, token, "/api/v1/watches", data={"definition": json.dumps(definition)}, files=files)
    for name, time, seed in (("t1.dat", 1.0, 31), ("t4.dat", 4.0, 32)):
        content = counted_file(curve, time, seed)
        post(server, token, f"/api/v1/watches/{watch['id']}/files", files={"file": (name, content)})

    page = watched.page
    signed_in(watched, token)
    page.goto(f"{server.url}/#/watches/{watch['id']}")
    page.wait_for_function(SUCCEEDED, arg=2, timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=verdict]').length === 2")
    verdicts = page.locator("[data-testid=verdict]").all_text_contents()
    assert verdicts[0].startswith("SiO.setD: count about ") and verdicts[1] == "SiO.setD: reached"
    advice = page.text_content("[data-testid=advice]") or ""
    assert advice.startswith("Advice for t4.dat: SiO.setD ±") and "reached" in advice
    cells = page.locator(f"{ROWS} td.param").all_text_contents()
    assert cells and all(" ± " in cell for cell in cells), cells
    assert "SiO.setD: σ ≤ 0.07" in (page.text_content(".details") or "")
    panel = "[data-testid=watch-trends] .plot-small[data-parameter='SiO.setD']"
    page.wait_for_selector(f"{panel}[data-points='2'] .main-svg")
    bars = page.evaluate(f'() => document.querySelector("{panel}").data[0].error_y.array')
    series = httpx.get(
        f"{server.url}/api/v1/watches/{watch['id']}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert bars == [row["sigma"]["SiO.setD"] for row in series["rows"]]
    page.screenshot(path=artifacts / "dashboard-watch-advice.png", full_page=True)
    watched.check(server)
