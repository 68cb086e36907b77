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
from typing import TYPE_CHECKING

import pytest

from tests.server.test_e2e import Server, cli

if TYPE_CHECKING:
    from playwright.sync_api import Browser

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
