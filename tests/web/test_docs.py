"""``/docs`` works offline: Swagger UI comes from the server itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.server.test_e2e import Server
from tests.web.conftest import Watched

if TYPE_CHECKING:
    from playwright.sync_api import Route


def offline(watched: Watched, server: Server) -> None:
    """Refuse every request to another host, as a machine without internet would."""

    def only_local(route: Route) -> None:
        if route.request.url.startswith(f"{server.url}/"):
            route.continue_()
        else:
            route.abort("internetdisconnected")

    watched.page.context.route("**/*", only_local)


def test_swagger_ui_renders_the_operations_offline(watched: Watched, server: Server, artifacts: Path) -> None:
    offline(watched, server)
    page = watched.page
    page.goto(f"{server.url}/docs")
    page.locator(".opblock").first.wait_for()
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(path.startswith("/api/v1/jobs") for path in summaries), summaries
    assert any(path.startswith("/api/v1/studies") for path in summaries), summaries
    page.screenshot(path=str(artifacts / "docs-offline.png"))
    watched.check(server)


def test_there_is_no_redoc_page(server: Server) -> None:
    import httpx

    assert httpx.get(f"{server.url}/redoc").status_code == 404
