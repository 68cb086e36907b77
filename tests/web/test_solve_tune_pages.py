"""Solve and tune pages in real headless Chromium: a solve from the upload form, a tune's trials."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.server.test_e2e import Server
from tests.web.conftest import Watched
from tests.web.test_dashboard import PAGE_STATE, api

TUNE = {"trials": 1, "seeds": 1, "run_budget": 5, "fixed": {"max_generations": 6}}
SUCCEEDED = f"() => document.querySelector('{PAGE_STATE}')?.textContent === 'succeeded'"


def sign_in(watched: Watched, server: Server, token: str) -> None:
    page = watched.page
    page.goto(f"{server.url}/")
    page.fill("[data-testid=token-input]", token)
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("nav a[href='#/upload']")


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_solve_from_the_upload_form_and_a_tune_show_their_accounts(
    server: Server, token: str, watched: Watched, xray: Path, artifacts: Path
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    tune = httpx.post(
        f"{server.url}/api/v1/tunes",
        headers=headers,
        data={"settings": json.dumps(TUNE)},
        files=[("models", (xray.name, xray.read_bytes()))],
        timeout=30,
    )
    assert tune.status_code == 201, tune.text
    page = watched.page
    sign_in(watched, server, token)
    page.click("nav a[href='#/upload']")
    page.set_input_files("[data-testid=model-file]", xray)
    page.fill("[data-testid=seed]", "2")
    page.fill("[data-testid=max-generations]", "8")
    page.select_option("[data-testid=mode]", "solve")
    page.fill("[data-testid=solve-budget]", "60")
    racing = {"solve": {"max_starts": 2, "target_reliability": 0.5, "share": 0.5}}
    page.click("[data-testid=advanced] summary")  # the raw JSON is an advanced option
    page.fill("[data-testid=settings-json]", json.dumps(racing))
    page.click("[data-testid=submit]")
    page.wait_for_url("**/#/jobs/*")
    job_id = int(page.url.rsplit("/", 1)[1])
    page.wait_for_function(SUCCEEDED, timeout=120_000)
    page.wait_for_selector("[data-testid=solve-card]")
    job = api(server, token, f"/api/v1/jobs/{job_id}")
    account = job["result"]["extra"]["solve"]
    assert job["settings"]["solve"]["budget"] == 60
    assert page.locator("[data-testid=solve-start]").count() == len(account["starts"])
    assert page.text_content("[data-testid=agreeing]") == f"{account['agreeing']} of {len(account['starts'])}"
    x = page.evaluate("() => document.getElementById('fom-plot').data[0].x")
    assert x == [t for t, _ in account["trace"]], "a solve's FOM is plotted against time"
    page.screenshot(path=artifacts / "dashboard-solve.png", full_page=True)

    page.goto(f"{server.url}/#/jobs/{tune.json()['id']}")
    page.wait_for_function(SUCCEEDED, timeout=120_000)
    page.wait_for_selector("[data-testid=tune-trials] [data-testid=trial]")
    page.wait_for_selector("img.figure")
    assert "km" in (page.text_content("[data-testid=tune-best]") or "")
    page.get_by_text("trial 0, X-ray_Reflectivity.hgx, solve 1 of 1:").wait_for()
    page.screenshot(path=artifacts / "dashboard-tune.png", full_page=True)
    watched.check(server)
