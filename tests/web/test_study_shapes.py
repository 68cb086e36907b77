"""The dashboard's study page fits the study's shape (real headless Chromium against ``metagenx serve``):
a batch shows a file × parameter table with the order's unit and error bars and no success rate; a sweep
of settings shows its FOM per settings point and the best point."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.server.test_e2e import Server
from tests.study.conftest import simulate_curve, write_columns
from tests.web.conftest import Watched

QUICK = {"max_generations": 3, "population": 10}
SUCCEEDED = "n => document.querySelector('[data-testid=succeeded]')?.textContent === String(n)"


def submit(server: Server, token: str, definition: dict[str, object], files: list[tuple[str, bytes]]) -> int:
    response = httpx.post(
        f"{server.url}/api/v1/studies",
        headers={"Authorization": f"Bearer {token}"},
        data={"definition": json.dumps(definition)},
        files=[("files", (name, content)) for name, content in files],
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_batch_and_sweep_pages(
    server: Server, token: str, watched: Watched, superadam: Path, tmp_path: Path, artifacts: Path
) -> None:
    files = [(superadam.name, superadam.read_bytes())]
    for temperature, thickness in ((20, 1150.0), (300, 1230.0)):
        x, y = simulate_curve(superadam, thickness)
        path = write_columns(tmp_path / f"T{temperature}.dat", x, y, f"temperature: {temperature} K", seed=1)
        files.append((f"data/{path.name}", path.read_bytes()))
    batch = submit(
        server,
        token,
        {
            "name": "batch",
            "template": superadam.name,
            "seeds": [1],
            "settings": QUICK,
            "data": {"files": ["data/T*.dat"], "order": "header:temperature"},
        },
        files,
    )
    sweep = submit(
        server,
        token,
        {
            "name": "sweep",
            "template": superadam.name,
            "seeds": [1],
            "settings": QUICK,
            "grid": {"km": [0.5, 0.9]},
        },
        files[:1],
    )
    page = watched.page
    page.add_init_script(f"sessionStorage.setItem('metagenx.token', {json.dumps(token)})")

    page.goto(f"{server.url}/#/studies/{batch}")
    page.wait_for_function(SUCCEEDED, arg=2, timeout=90_000)
    page.wait_for_selector("[data-testid=study-summary][data-shape=batch] table")
    headers = page.locator("[data-testid=study-summary] th").all_text_contents()
    assert headers[:3] == ["Data file", "Order (K)", "FOM"] and "SiO.setD" in headers
    assert "Success rate" not in headers and "Converged" not in headers
    assert page.locator("[data-testid=success-rate]").count() == 0
    assert page.text_content("[data-testid=data-files]") == "2"
    assert "Jacobian covariance" in (page.text_content("[data-testid=error-source]") or "")
    assert " ± " in (page.text_content("[data-testid=study-summary] tbody") or "")
    page.wait_for_selector("[data-testid=trends] .plot-small .main-svg")
    title = page.evaluate(
        "() => document.querySelector('[data-testid=trends] .plot-small').layout.xaxis.title.text"
    )
    assert title == "temperature (K)"
    bars = page.evaluate(
        "() => document.querySelector('[data-testid=trends] .plot-small').data[0].error_y?.array?.length ?? 0"
    )
    assert bars == 2
    assert "Jacobian covariance" in (
        page.get_attribute("[data-testid=trends] .plot-small", "data-errors") or ""
    )
    page.screenshot(path=artifacts / "dashboard-study-batch.png", full_page=True)

    page.goto(f"{server.url}/#/studies/{sweep}")
    page.wait_for_function(SUCCEEDED, arg=2, timeout=90_000)
    page.wait_for_selector("[data-testid=study-summary][data-shape=sweep] table")
    cells = page.locator("[data-testid=study-summary] tbody tr td:first-child").all_text_contents()
    best = page.text_content("[data-testid=best-point]")
    assert best in ("km=0.5", "km=0.9") and sorted(cells) == sorted(
        [f"{p} (best)" if p == best else p for p in ("km=0.5", "km=0.9")]
    )
    assert page.text_content("[data-testid=success-rate]") is not None
    page.screenshot(path=artifacts / "dashboard-study-sweep.png", full_page=True)
    watched.check(server)
