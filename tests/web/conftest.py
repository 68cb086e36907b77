"""Fixtures of the dashboard tests: ``metagenx serve`` as a real process, Debian's Chromium via Playwright.

The browser is Debian's ``chromium`` (installed by ``make setup``: scripts/install-system-deps.sh),
launched by Playwright with ``executable_path``; Playwright's own browser download is never used.
Without it the browser tests fail under CI (``CI=true``) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.server.test_e2e import Server, cli

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(reason: str) -> None:
    """Fail under CI (the set-up should have installed it), skip on a developer's machine."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: the test set-up must install it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's Chromium."""
    path = shutil.which("chromium")
    if path is None:
        unavailable("Debian's chromium is not installed (make setup: scripts/install-system-deps.sh)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``metagenx serve`` on a free port, with a fresh data directory."""
    started = Server(tmp_path_factory.mktemp("web") / "data")
    yield started
    if started.process.poll() is None:
        started.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    """A token of user ``beamline``, made with the account commands on the server's data directory."""
    cli("user", "add", "beamline", "--data-dir", str(server.data))
    return cli("token", "create", "beamline", "--data-dir", str(server.data)).stdout.splitlines()[-1]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` at the repository root (git-ignored): screenshots of the browser tests."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class Watched:
    """A page with everything it requested, every script error it raised, and every breach of the
    server's Content-Security-Policy the browser refused."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self.on_console)

    def on_console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def check(self, server: Server) -> None:
        """No script error, and nothing loaded from anywhere but the server (it works offline)."""
        assert not self.errors
        local = (f"{server.url}/", f"blob:{server.url}/")  # blob: images fetched from the server
        assert self.requests and all(url.startswith(local) for url in self.requests), self.requests


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    yield Watched(context.new_page())
    context.close()
