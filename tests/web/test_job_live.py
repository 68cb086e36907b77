"""A running fit's job page (its current best simulation and values, its limits, a log FOM axis), the
studies list without single fits, and the upload form's fields with their advanced JSON; in Chromium."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from tests.server.test_e2e import Server
from tests.web.conftest import Watched
from tests.web.test_dashboard import PAGE_STATE, api, submit_study
from tests.web.test_watch import signed_in

LIMITS = {"seed": 1, "max_generations": 40, "max_time": 600, "max_evaluations": 1_000_000}
"""A fit of SuperAdam_SiO that runs several seconds, ended by its generation limit."""
RUNNING_WITH_SNAPSHOT = f"""() => {{
    const plot = document.getElementById('data-plot');
    const state = document.querySelector('{PAGE_STATE}');
    return Boolean(plot && plot.dataset.generation) && plot.dataset.traces === '2'
        && Boolean(state) && state.textContent === 'running';
}}"""

LATER_SNAPSHOT_OR_DONE = f"""() => Number(document.getElementById('data-plot').dataset.generation) > 0
    || document.querySelector('{PAGE_STATE}').textContent !== 'running'"""


def submit_fit(server: Server, token: str, model: Path, settings: Mapping[str, object]) -> int:
    response = httpx.post(
        f"{server.url}/api/v1/jobs",
        headers={"Authorization": f"Bearer {token}"},
        data={"settings": json.dumps(settings), "project": "default"},
        files=[("model", (model.name, model.read_bytes()))],
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_running_fit_shows_its_current_best_its_limits_and_a_log_fom_axis(
    server: Server, token: str, watched: Watched, superadam: Path, artifacts: Path
) -> None:
    page = watched.page
    signed_in(watched, token)
    job_id = submit_fit(server, token, superadam, LIMITS)
    page.goto(f"{server.url}/#/jobs/{job_id}")
    page.wait_for_function(RUNNING_WITH_SNAPSHOT, timeout=60_000)
    names = page.locator("[data-testid=parameters] tbody tr td:first-child").all_text_contents()
    assert names, "the current best values are listed while the fit runs"
    values = page.locator("[data-testid=parameters] tbody tr td:nth-child(2)").all_text_contents()
    assert all(v not in ("", "—") for v in values)
    assert "Current best solution (generation" in (page.text_content("[data-testid=current-note]") or "")
    for testid, limit in (
        ("generations", "of 40"),
        ("time", "of 10 min 00 s"),
        ("evaluations", "of 1000000"),
    ):
        text = page.text_content(f"[data-testid=limit-{testid}]") or ""
        assert limit in text and f"% of the {testid[:-1] if testid != 'time' else 'time'}" in text, text
    page.wait_for_function(
        LATER_SNAPSHOT_OR_DONE, timeout=120_000
    )  # a snapshot sent in the middle of the fit
    page.screenshot(path=artifacts / "job-running-current-best.png", full_page=True)

    assert page.get_attribute("#fom-plot", "data-scale") == "linear"
    page.check("[data-testid=fom-log]")
    page.wait_for_selector("#fom-plot[data-scale=log]")
    page.screenshot(path=artifacts / "job-running-log-fom.png", full_page=True)
    page.uncheck("[data-testid=fom-log]")
    page.wait_for_selector("#fom-plot[data-scale=linear]")

    page.wait_for_function(
        f"() => document.querySelector('{PAGE_STATE}').textContent === 'succeeded'", timeout=120_000
    )
    job = api(server, token, f"/api/v1/jobs/{job_id}")
    assert names == [p["name"] for p in job["result"]["parameters"]]
    assert job["stop_reason"] and "generation" in job["stop_reason"]
    page.wait_for_selector("[data-testid=parameters] .range")
    assert page.is_hidden("[data-testid=current-note]") and page.is_hidden("[data-testid=limits]")
    watched.check(server)


def test_single_fits_are_jobs_not_studies(
    server: Server, token: str, watched: Watched, superadam: Path, xray: Path, artifacts: Path
) -> None:
    page = watched.page
    signed_in(watched, token)
    fit = submit_fit(server, token, superadam, {"seed": 5, "max_generations": 2})
    single = api(server, token, f"/api/v1/jobs/{fit}")["study_id"]
    study = submit_study(server, token, xray)
    page.goto(f"{server.url}/#/studies")
    page.wait_for_selector(f"[data-testid=studies-table] a[href='#/studies/{study}']")
    assert page.locator(f"[data-testid=studies-table] a[href='#/studies/{single}']").count() == 0
    assert page.locator("[data-testid=studies-table] .kind").all_text_contents() == ["study"]
    page.screenshot(path=artifacts / "studies-without-single-fits.png", full_page=True)
    page.click("nav a[href='#/jobs']")
    page.wait_for_selector(f"[data-testid=jobs-table] a[href='#/jobs/{fit}']")
    listed = api(server, token, "/api/v1/studies")["items"]
    assert single in [s["id"] for s in listed], "the API lists single fits unless asked not to"
    assert api(server, token, f"/api/v1/jobs/{fit}")["study_kind"] == "fit"
    page.click(f"[data-testid=jobs-table] a[href='#/jobs/{fit}']")
    page.wait_for_selector(".page-head .subtitle")
    assert page.locator(".page-head .subtitle a").count() == 0, "a single fit's page links to no study"
    watched.check(server)


def test_the_upload_form_merges_its_fields_with_the_advanced_json(
    server: Server, token: str, watched: Watched, superadam: Path, artifacts: Path
) -> None:
    page = watched.page
    signed_in(watched, token)
    page.goto(f"{server.url}/#/upload")
    page.set_input_files("[data-testid=model-file]", superadam)
    message = "[data-testid=upload-message]"

    def refused(expected: str) -> None:
        page.click("[data-testid=submit]")
        page.wait_for_function(
            "([s, t]) => document.querySelector(s).textContent.includes(t)", arg=[message, expected]
        )
        assert page.url.endswith("#/upload")

    assert page.is_hidden("[data-testid=settings-json]"), "the raw JSON is an advanced option"
    page.fill("[data-testid=seed]", "1.5")
    refused("Seed must be a whole number (you typed “1.5”)")
    page.fill("[data-testid=seed]", "2")
    page.fill("[data-testid=max-generations]", "0")
    refused("Max. generations must be 1 or more")
    page.fill("[data-testid=max-generations]", "3")
    page.fill("[data-testid=max-time]", "-5")
    refused("Max. time must be more than 0")
    page.fill("[data-testid=max-time]", "60")
    page.click("[data-testid=advanced] summary")
    page.fill("[data-testid=settings-json]", '{"population": 10,')
    refused("The advanced settings is not valid JSON")
    page.fill("[data-testid=settings-json]", '{"population": 10, "seed": 3}')
    refused("Seed is 2 in its field but 3 in the advanced settings")
    page.screenshot(path=artifacts / "upload-form-refused.png", full_page=True)

    page.select_option("[data-testid=mode]", "solve")
    page.fill("[data-testid=solve-budget]", "-1")
    page.fill("[data-testid=settings-json]", '{"population": 10}')
    refused("Solve budget must be more than 0")
    page.select_option("[data-testid=mode]", "fit")
    page.screenshot(path=artifacts / "upload-form.png", full_page=True)
    page.click("[data-testid=submit]")
    page.wait_for_url("**/#/jobs/*")
    job = api(server, token, f"/api/v1/jobs/{int(page.url.rsplit('/', 1)[1])}")
    chosen = {k: job["settings"][k] for k in ("seed", "max_generations", "max_time", "population")}
    assert chosen == {"seed": 2, "max_generations": 3, "max_time": 60, "population": 10}
    assert "solve" not in job["settings"] or not job["settings"]["solve"]
    watched.check(server)
