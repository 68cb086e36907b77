"""A finished fit's page flags doubtful values (unphysical, at a bound) and offers SVG plots and the
ORSO file; in Chromium."""

from __future__ import annotations

from pathlib import Path

from metagenx.engine.model import GenxModel
from tests.conftest import EditModel
from tests.server.test_e2e import Server
from tests.web.conftest import Watched
from tests.web.test_dashboard import PAGE_STATE, api
from tests.web.test_job_live import submit_fit
from tests.web.test_watch import signed_in


def negative_roughness(model: GenxModel) -> None:
    """The substrate's roughness may only be negative: a fit must end with an unphysical value."""
    model.set_parameter("Sub.setSigma", value=-3.0, min=-5.0, max=-1.0)


def test_a_fit_with_an_unphysical_value_is_flagged_on_its_page(
    server: Server,
    token: str,
    watched: Watched,
    superadam: Path,
    edited_model: EditModel,
    artifacts: Path,
) -> None:
    page = watched.page
    signed_in(watched, token)
    model = edited_model(superadam, negative_roughness, "negative_roughness.hgx")
    job_id = submit_fit(server, token, model, {"seed": 2, "max_generations": 3})
    page.goto(f"{server.url}/#/jobs/{job_id}")
    page.wait_for_function(
        f"() => document.querySelector('{PAGE_STATE}')?.textContent === 'succeeded'", timeout=120_000
    )
    page.wait_for_selector("[data-testid=parameters] [data-testid=flags]")
    job = api(server, token, f"/api/v1/jobs/{job_id}")
    expected = {p["name"]: p["flags"] for p in job["result"]["parameters"] if p["flags"]}
    assert "negative roughness" in expected["Sub.setSigma"]
    rows = page.locator("[data-testid=parameters] tbody tr")
    shown = {
        rows.nth(i).locator("td").first.text_content(): rows.nth(i)
        .locator("[data-testid=flags]")
        .text_content()
        for i in range(rows.count())
        if rows.nth(i).locator("[data-testid=flags]").count()
    }
    assert shown == {name: ", ".join(flags) for name, flags in expected.items()}
    for kind, label in (("fit_svg", "Fit plot (SVG)"), ("fom_svg", "FOM plot (SVG)"), ("orso", "ORSO .ort")):
        button = page.locator(f"button[data-kind={kind}]")
        assert button.count() == 1 and label in (button.text_content() or ""), kind
    page.wait_for_selector("#data-plot .xtitle")
    assert page.text_content("#data-plot .xtitle") == "2θ (°)", "the instrument's axis"
    page.screenshot(path=artifacts / "job-flags.png", full_page=True)
    watched.check(server)
