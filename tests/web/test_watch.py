"""The watch's series page in real headless Chromium against ``metagenx serve``: rows and trend plots live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.server.test_e2e import Server
from tests.server.test_watches import BROKEN, RUNS, measurement
from tests.web.conftest import Watched

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload

SETTINGS = {"seed": 1, "max_generations": 8, "population": 10}
ORDER_LABEL = "temperature (K)"  # the unit read from the files' headers
ROWS = "[data-testid=series] tr[data-job]"
PANEL = "[data-testid=watch-trends] .plot-small[data-parameter='SiO.setD']"
SUCCEEDED = (
    f"n => [...document.querySelectorAll('{ROWS}')].filter(r => r.dataset.state === 'succeeded').length === n"
)


@pytest.fixture(scope="module")
def files(superadam: Path) -> dict[str, bytes]:
    """run01.dat … run03.dat: SuperAdam-like measurements at 20, 100 and 300 K (in their headers)."""
    return {name: measurement(superadam, d, t, i) for i, (name, (d, t)) in enumerate(RUNS.items())}


def post(server: Server, token: str, path: str, **fields: Any) -> Any:
    response = httpx.post(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30, **fields
    )
    assert response.status_code == 201, response.text
    return response.json()


def signed_in(watched: Watched, token: str) -> None:
    watched.page.add_init_script(f"sessionStorage.setItem('metagenx.token', {json.dumps(token)})")


def x_range(page: Any) -> list[float]:
    return list(page.evaluate(f'() => document.querySelector("{PANEL}").layout.xaxis.range'))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_series_grows_live_as_files_are_fitted(
    server: Server, token: str, watched: Watched, superadam: Path, files: dict[str, bytes], artifacts: Path
) -> None:
    definition = {
        "name": "beamtime <SiO>",
        "settings": SETTINGS,
        "loader_options": {"commands": "loader"},
        "order": "header:temperature",
    }
    template = {"template": (superadam.name, superadam.read_bytes())}
    watch = post(
        server, token, "/api/v1/watches", data={"definition": json.dumps(definition)}, files=template
    )
    for name in ("run01.dat", "run02.dat"):
        post(server, token, f"/api/v1/watches/{watch['id']}/files", files={"file": (name, files[name])})
    post(server, token, f"/api/v1/watches/{watch['id']}/files", files={"file": ("broken.dat", BROKEN)})

    page = watched.page
    signed_in(watched, token)
    page.goto(f"{server.url}/#/watches")
    page.click(f"[data-testid=watches-table] a[href='#/watches/{watch['id']}'] >> text={definition['name']}")
    page.wait_for_selector(ROWS)
    assert page.text_content("h1") == definition["name"]
    page.wait_for_function(SUCCEEDED, arg=2, timeout=60_000)
    page.wait_for_selector(f"{ROWS}[data-state=failed]")
    labels = page.locator(f"{ROWS} [data-testid=file]").all_text_contents()
    assert labels == ["run01.dat", "run02.dat", "broken.dat"]
    assert "broken.dat" in (page.text_content("[data-testid=row-error]") or "")

    page.wait_for_selector(f"{PANEL}[data-points='2'] .main-svg")
    plotted = page.evaluate(f"""() => {{
        const panel = document.querySelector("{PANEL}");
        return {{ x: panel.data[0].x, title: panel.layout.xaxis.title.text }};
    }}""")
    assert plotted == {"x": [RUNS["run01.dat"][1], RUNS["run02.dat"][1]], "title": ORDER_LABEL}
    fitted = page.evaluate(f'() => document.querySelector("{PANEL}").data[0].y')
    series = httpx.get(
        f"{server.url}/api/v1/watches/{watch['id']}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert fitted == [r["parameters"]["SiO.setD"] for r in series["rows"] if r["state"] == "succeeded"]

    # zoom into the panel as a user would (drag a box): the third file's point must not undo it
    box = page.locator(f"{PANEL} .nsewdrag").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 0.1 * box["width"], box["y"] + 0.1 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.7 * box["width"], box["y"] + 0.9 * box["height"], steps=5)
    page.mouse.up()
    page.wait_for_function(f'() => document.querySelector("{PANEL}").layout.xaxis.autorange === false')
    zoomed = x_range(page)
    other = "[data-testid=watch-trends] .plot-small[data-parameter='SiO.setDens']"
    assert page.evaluate(f'() => document.querySelector("{other}").layout.xaxis.autorange') is True

    third: FilePayload = {"name": "run03.dat", "mimeType": "text/plain", "buffer": files["run03.dat"]}
    page.set_input_files("[data-testid=push-file]", files=[third])
    page.click("[data-testid=push]")
    page.get_by_text("run03.dat: queued as job").wait_for()
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 4")
    page.wait_for_function(SUCCEEDED, arg=3, timeout=60_000)
    page.wait_for_selector(f"{PANEL}[data-points='3']")
    assert x_range(page) == zoomed
    assert page.evaluate(f'() => document.querySelector("{other}").layout.xaxis.autorange') is True
    page.dblclick(f"{PANEL} .nsewdrag")  # back to the full range for the screenshot
    page.wait_for_function(f'() => document.querySelector("{PANEL}").layout.xaxis.autorange === true')
    page.mouse.move(0, 0)
    page.wait_for_selector(".plotly-notifier .notifier-note", state="detached")
    page.screenshot(path=artifacts / "dashboard-watch.png", full_page=True)

    with page.expect_download() as csv:
        page.click("button[data-kind=csv]")
    header, *lines = Path(csv.value.path()).read_text().splitlines()
    assert len(lines) == 4 and "SiO.setD" in header.split(",")
    with page.expect_download() as png:
        page.click("button[data-kind=png]")
    assert Path(png.value.path()).read_bytes().startswith(b"\x89PNG")
    watched.check(server)


def test_a_watch_is_created_from_the_dashboard(
    server: Server, token: str, watched: Watched, superadam: Path, artifacts: Path
) -> None:
    page = watched.page
    signed_in(watched, token)
    page.goto(f"{server.url}/#/watches")
    page.click("[data-testid=new-watch]")
    page.fill("[data-testid=watch-name]", "from the browser")
    page.fill("[data-testid=watch-order]", "header:temperature")
    page.set_input_files("[data-testid=watch-template]", superadam)
    page.fill("[data-testid=watch-more]", json.dumps({"settings": SETTINGS}))
    page.fill("[data-testid=watch-targets]", "SiO.setD=two")
    page.click("[data-testid=create-watch]")
    page.wait_for_selector("[data-testid=watch-message]:has-text('must be a positive number')")
    page.fill("[data-testid=watch-targets]", "SiO.setD=2, SiO.setSigma=0.5")
    page.wait_for_selector("[data-testid=watches-table] table")
    page.screenshot(path=artifacts / "dashboard-watches.png", full_page=True)
    page.click("[data-testid=create-watch]")
    page.wait_for_url("**/#/watches/*")
    page.get_by_text("No data file yet").wait_for()
    assert page.text_content("h1") == "from the browser"
    assert page.is_visible("[data-testid=push-order-value]")
    watch_id = page.url.rsplit("/", 1)[-1]
    answer = httpx.get(
        f"{server.url}/api/v1/watches/{watch_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.json()["targets"] == {"SiO.setD": 2.0, "SiO.setSigma": 0.5}
    watched.check(server)


def test_parameter_names_in_trend_plots_stay_text(server: Server, watched: Watched) -> None:
    """Plotly renders some HTML in labels: a parameter or order named like markup shows as that text."""
    page = watched.page
    page.goto(f"{server.url}/")
    name = "<b>p</b><img src=x onerror=alert(1)>"
    texts = page.evaluate(
        """async (name) => {
            const { SeriesPlots } = await import('/js/plots.js');
            const element = document.createElement('div');
            document.body.append(element);
            const row = (i) => ({ state: 'succeeded', label: `f${i}`, file_index: i, order_value: i * 10,
                                  parameters: { [name]: i } });
            await new SeriesPlots(element).draw([row(0), row(1)], [name], `${name} (file header)`);
            return { texts: [...element.querySelectorAll('.gtitle, .xtitle')].map((t) => t.textContent),
                     images: element.querySelectorAll('img').length };
        }""",
        name,
    )
    assert texts == {"texts": [name, f"{name} (file header)"], "images": 0}
    watched.check(server)
