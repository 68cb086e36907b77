"""The dashboard in real headless Chromium against ``metagenx serve``: sign in, upload, watch live, finish."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.test_e2e import Server
from tests.web.conftest import Watched

SETTINGS = {"seed": 1, "max_generations": 30}
"""A fit of SuperAdam_SiO that takes several seconds: long enough to watch it live."""
QUICK = {"max_generations": 3}
PAGE_STATE = ".page-head [data-testid=state]"
LIVE_AND_RUNNING = f"""() => {{
    const plot = document.getElementById('fom-plot');
    const state = document.querySelector('{PAGE_STATE}');
    const points = plot && plot.data ? plot.data[0].x.length : 0;
    return points >= 5 && Boolean(state) && state.textContent === 'running';
}}"""


def api(server: Server, token: str, path: str) -> Any:
    response = httpx.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def submit_study(server: Server, token: str, model: Path) -> int:
    """A quick study of three seeds, submitted through the API; its id."""
    definition = {"name": "three seeds", "template": model.name, "seeds": [1, 2, 3], "settings": QUICK}
    response = httpx.post(
        f"{server.url}/api/v1/studies",
        headers={"Authorization": f"Bearer {token}"},
        data={"definition": json.dumps(definition)},
        files=[("files", (model.name, model.read_bytes()))],
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def xray_parameters(server: Server, token: str, study: int) -> list[str]:
    columns: list[str] = api(server, token, f"/api/v1/studies/{study}/table")["columns"]
    return columns[columns.index("fom") + 1 : columns.index("generations")]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_sign_in_upload_follow_live_and_finish(
    server: Server, token: str, watched: Watched, superadam: Path, xray: Path, artifacts: Path
) -> None:
    page = watched.page
    page.goto(f"{server.url}/")
    page.wait_for_selector("[data-testid=token-input]")
    page.fill("[data-testid=token-input]", "mgx_000000000000_not-a-token")
    page.click("[data-testid=sign-in]")
    page.get_by_text("That token is not valid").wait_for()
    page.fill("[data-testid=token-input]", token)
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=jobs-table] .empty")
    sandbox = httpx.get(f"{server.url}/healthz").json().get("sandbox", "unknown")
    page.wait_for_function("s => document.getElementById('server-status').dataset.sandbox === s", arg=sandbox)

    page.click("nav a[href='#/upload']")
    page.set_input_files("[data-testid=model-file]", superadam)
    page.fill("[data-testid=seed]", str(SETTINGS["seed"]))
    page.fill("[data-testid=max-generations]", str(SETTINGS["max_generations"]))
    page.click("[data-testid=submit]")
    page.wait_for_url("**/#/jobs/*")
    job_id = int(page.url.rsplit("/", 1)[1])

    page.wait_for_function(LIVE_AND_RUNNING, timeout=60_000)
    page.screenshot(path=artifacts / "dashboard-job-running.png", full_page=True)
    assert int(page.get_attribute("#fom-plot", "data-points") or 0) >= 5

    page.wait_for_function(
        f"() => document.querySelector('{PAGE_STATE}').textContent === 'succeeded'", timeout=120_000
    )
    page.wait_for_selector("#data-plot[data-traces='2']")
    job = api(server, token, f"/api/v1/jobs/{job_id}")
    assert job["state"] == "succeeded" and job["settings"]["max_generations"] == SETTINGS["max_generations"]
    history = page.evaluate("() => document.getElementById('fom-plot').data[0].y")
    assert history == job["result"]["fom_history"]
    names = page.locator("[data-testid=parameters] tbody tr td:first-child").all_text_contents()
    assert names == [p["name"] for p in job["result"]["parameters"]]
    assert page.locator("[data-testid=parameters] .range").count() == len(names)
    assert page.text_content("[data-testid=stop-reason]") == job["stop_reason"]
    kinds = page.locator("[data-testid=downloads] button").evaluate_all("bs => bs.map(b => b.dataset.kind)")
    assert sorted(kinds) == sorted(a["kind"] for a in job["artifacts"])
    page.screenshot(path=artifacts / "dashboard-job-finished.png", full_page=True)

    with page.expect_download() as download:
        page.click("[data-testid=downloads] button[data-kind=result_json]")
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved["fom"] == job["fom"] and saved["datasets"][0]["x"]

    study = submit_study(server, token, xray)
    page.click("nav a[href='#/studies']")
    page.click(f"[data-testid=studies-table] a[href='#/studies/{study}']")
    page.wait_for_function("() => document.querySelector('[data-testid=succeeded]')?.textContent === '3'")
    page.wait_for_selector("[data-testid=study-summary] table")
    page.wait_for_selector("[data-testid=trends] .plot-small .main-svg")
    assert page.locator("[data-testid=trends] .plot-small").count() == len(
        xray_parameters(server, token, study)
    )
    page.screenshot(path=artifacts / "dashboard-study.png", full_page=True)
    page.click("nav a[href='#/studies']")
    page.wait_for_selector(f"[data-testid=studies-table] a[href='#/studies/{study}']")
    page.screenshot(path=artifacts / "dashboard-studies.png", full_page=True)
    watched.check(server)


def test_a_server_without_sandbox_shows_a_loud_banner(
    server: Server, token: str, watched: Watched, artifacts: Path
) -> None:
    """The banner follows /healthz (answered here as by a server started with --unsafe-no-sandbox)."""
    page = watched.page
    body = {"status": "ok", "database": "ok", "controller": "running", "sandbox": "off"}
    page.route("**/healthz", lambda route: route.fulfill(json=body))
    page.add_init_script(f"sessionStorage.setItem('metagenx.token', {json.dumps(token)})")
    page.goto(f"{server.url}/#/jobs")
    banner = page.locator("[data-testid=banner-danger]")
    banner.wait_for()
    assert "Sandbox off" in banner.text_content() and "WITHOUT the sandbox" in banner.text_content()
    assert page.text_content("[data-testid=server-status]") == "server: ok · sandbox: off"
    page.wait_for_selector("[data-testid=jobs-table] table, [data-testid=jobs-table] .empty")
    page.screenshot(path=artifacts / "dashboard-sandbox-off.png")
    watched.check(server)


def test_names_in_plots_stay_text(server: Server, watched: Watched) -> None:
    """Plotly renders some HTML in labels: a data set named like markup shows as that text."""
    page = watched.page
    page.goto(f"{server.url}/")
    name = "<b>bold</b><img src=x onerror=alert(1)> & more"
    legend = page.evaluate(
        """async (name) => {
            const { dataPlot } = await import('/js/plots.js');
            const element = Object.assign(document.createElement('div'), { className: 'plot' });
            document.body.append(element);
            const curve = { x: [0.1, 0.2], y: [1, 0.1], error: [0.1, 0.01], simulated: [1, 0.1] };
            await dataPlot(element, [{ name, use: true, ...curve }]);
            return { texts: [...element.querySelectorAll('.legendtext')].map((t) => t.textContent),
                     images: element.querySelectorAll('img').length };
        }""",
        name,
    )
    assert legend == {"texts": [name, f"{name} simulation"], "images": 0}
    watched.check(server)
