"""The posterior-uncertainty option on the server: the live sampling status through the API's
event stream, job progress, job page and ``metagenx status``; a fit submitted with the dashboard's
upload-form checkbox, its posterior and plots through the API and on its job page; the watch form's
checkbox; in Chromium. The model is the cheap synthetic one (three parameters,
data simulated with known noise); sampling is bounded by draws and burn-in generations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from metagenx.client import ApiClient, ClientConfig
from tests.engine.synthetic import simulated_model
from tests.server.test_e2e import Server, cli
from tests.web.conftest import Watched
from tests.web.test_dashboard import PAGE_STATE, api
from tests.web.test_job_live import submit_fit
from tests.web.test_watch import signed_in

LONG_BURN_IN = {
    "seed": 2,
    "max_generations": 20,
    "uncertainty": True,
    "uncertainty_samples": 100_000,
    "uncertainty_burn": 100_000,
}
"""A short fit, then a burn-in far longer than the test waits for (it is cancelled)."""


@pytest.fixture(scope="module")
def synthetic(superadam: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated_model(superadam, tmp_path_factory.mktemp("synthetic"), seed=3)


def end_of(server: Server, token: str, job_id: int) -> dict[str, Any]:
    """The job's ``end`` event, read from its live stream."""
    with ApiClient(ClientConfig(server.url, token)) as client:
        for kind, event in client.events(f"/api/v1/jobs/{job_id}/events"):
            if kind == "end":
                return dict(event)
    raise AssertionError(f"job {job_id}'s stream ended without an end event")


def posterior_through_the_api(server: Server, token: str, job_id: int) -> dict[str, Any]:
    """The finished job's posterior as the API gives it, checked: one entry per fitted parameter,
    nested intervals, error bars = the 68 % interval's ends minus the value, and its files (the
    corner plot downloaded as a PNG)."""
    job = api(server, token, f"/api/v1/jobs/{job_id}")
    posterior: dict[str, Any] = job["result"]["extra"]["posterior"]
    assert "skipped" not in posterior, posterior
    fitted = {p["name"]: p for p in job["result"]["parameters"]}
    assert [q["name"] for q in posterior["parameters"]] == list(fitted)
    assert posterior["draws"] >= 3000 and posterior["burn"] == 100
    for q in posterior["parameters"]:
        p = fitted[q["name"]]
        assert q["p95"][0] <= q["p68"][0] <= q["median"] <= q["p68"][1] <= q["p95"][1]
        assert p["error_low"] == pytest.approx(q["p68"][0] - p["value"])
        assert p["error_high"] == pytest.approx(q["p68"][1] - p["value"])
    kinds = {a["kind"]: a for a in job["artifacts"]}
    assert {"corner_png", "band_png", "posterior_draws_csv"} <= set(kinds)
    corner = httpx.get(
        f"{server.url}{kinds['corner_png']['url']}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert corner.status_code == 200 and corner.content.startswith(b"\x89PNG")
    return posterior


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_running_sampling_is_reported_live_in_words(
    server: Server, token: str, watched: Watched, synthetic: Path, artifacts: Path
) -> None:
    """Progress events, the job's progress and its page carry the sampling status and its words; a
    long burn-in is then cancelled (the test waits for events, never for a time)."""
    job_id = submit_fit(server, token, synthetic, LONG_BURN_IN)
    with ApiClient(ClientConfig(server.url, token)) as client:
        for kind, event in client.events(f"/api/v1/jobs/{job_id}/events"):
            assert kind != "end", f"the job ended before it reported its sampling: {event}"
            if kind == "progress" and event.get("sampling"):
                break
        sampling = event["sampling"]
        assert sampling["burn"] == 100_000 and sampling["target"] == 100_000 and sampling["draws"] == 0
        assert event["sampling_words"] == (
            f"sampling the posterior: burn-in {sampling['generation']}/100000 generations"
        )
        progress = client.job(job_id)["progress"]
        assert progress["sampling_words"].startswith("sampling the posterior: burn-in ")
        signed_in(watched, token)
        watched.page.goto(f"{server.url}/#/jobs/{job_id}")
        watched.page.wait_for_function(
            "() => /^sampling the posterior: burn-in \\d+\\/100000 generations/"
            ".test(document.querySelector('[data-testid=sampling]')?.textContent ?? '')",
            timeout=60_000,
        )
        watched.page.screenshot(path=artifacts / "job-sampling.png", full_page=True)
        env = {"METAGENX_SERVER": server.url, "METAGENX_TOKEN": token, "COLUMNS": "200"}
        assert "sampling the posterior: burn-in " in cli("status", str(job_id), env=env).stdout
        httpx.post(
            f"{server.url}/api/v1/jobs/{job_id}/cancel",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).raise_for_status()
    assert end_of(server, token, job_id)["state"] == "cancelled"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_upload_checkbox_samples_and_the_job_page_shows_intervals_and_plots(
    server: Server, token: str, watched: Watched, synthetic: Path, artifacts: Path
) -> None:
    page = watched.page
    signed_in(watched, token)
    page.goto(f"{server.url}/#/upload")
    page.set_input_files("[data-testid=model-file]", synthetic)
    page.fill("[data-testid=seed]", "4")
    page.fill("[data-testid=max-generations]", "20")
    page.click("[data-testid=advanced] summary")
    page.fill("[data-testid=uncertainty-samples]", "3000")
    page.click("[data-testid=submit]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=upload-message]')"
        ".textContent.includes('tick Uncertainty')"
    )
    page.check("[data-testid=uncertainty]")
    page.fill("[data-testid=settings-json]", json.dumps({"uncertainty_burn": 100}))
    page.screenshot(path=artifacts / "upload-uncertainty.png", full_page=True)
    page.click("[data-testid=submit]")
    page.wait_for_url("**/#/jobs/*")
    job_id = int(page.url.rsplit("/", 1)[1])
    page.wait_for_function(
        f"() => document.querySelector('{PAGE_STATE}')?.textContent === 'succeeded'", timeout=120_000
    )
    job = api(server, token, f"/api/v1/jobs/{job_id}")
    assert job["settings"]["uncertainty"] is True and job["settings"]["uncertainty_samples"] == 3000
    posterior = posterior_through_the_api(server, token, job_id)

    page.wait_for_selector("[data-testid=posterior-note]")
    headers = page.locator("[data-testid=parameters] thead th").all_text_contents()
    assert {"Median", "68 % interval (from value)", "95 % interval", "R̂"} <= set(headers), headers
    column = headers.index("68 % interval (from value)")
    rows = page.locator("[data-testid=parameters] tbody tr")
    shown = {
        rows.nth(i).locator("td").first.text_content(): rows.nth(i).locator("td").nth(column).text_content()
        for i in range(rows.count())
    }
    assert set(shown) == {q["name"] for q in posterior["parameters"]}
    assert all(re.fullmatch(r"[−+]\S+ / [−+]\S+", text or "") for text in shown.values()), shown
    note = page.text_content("[data-testid=posterior-note]") or ""
    assert f"{posterior['draws']} draws" in note
    assert ("not converged" in note) == (not posterior["converged"])

    for kind in ("corner_png", "band_png"):
        page.wait_for_function(
            "k => { const i = document.querySelector(`img[data-testid=${k}]`);"
            " return Boolean(i) && i.naturalWidth > 0; }",
            arg=kind,
        )
        assert page.locator(f"[data-testid=downloads] button[data-kind={kind}]").count() == 1
    assert "Posterior corner plot (PNG)" in (page.text_content("button[data-kind=corner_png]") or "")
    page.screenshot(path=artifacts / "job-posterior.png", full_page=True)
    watched.check(server)


@pytest.mark.timeout(60)
def test_the_watch_form_checkbox_asks_each_fit_for_its_posterior(
    server: Server, token: str, watched: Watched, synthetic: Path
) -> None:
    page = watched.page
    signed_in(watched, token)
    page.goto(f"{server.url}/#/watches")
    page.click("[data-testid=new-watch]")
    page.fill("[data-testid=watch-name]", "with uncertainty")
    page.set_input_files("[data-testid=watch-template]", synthetic)
    page.fill(
        "[data-testid=watch-more]", json.dumps({"settings": {"uncertainty": False, "max_generations": 20}})
    )
    page.check("[data-testid=watch-uncertainty]")
    page.click("[data-testid=create-watch]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=watch-message]')"
        ".textContent.includes('set it in one place')"
    )
    page.fill("[data-testid=watch-more]", json.dumps({"settings": {"max_generations": 20}}))
    page.click("[data-testid=create-watch]")
    page.wait_for_url("**/#/watches/*")
    watch = api(server, token, f"/api/v1/watches/{int(page.url.rsplit('/', 1)[1])}")
    assert watch["settings"]["uncertainty"] is True and watch["settings"]["max_generations"] == 20
    watched.check(server)
