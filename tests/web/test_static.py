"""The dashboard's files: served without a token, Plotly from the installed package, nothing from outside."""

from __future__ import annotations

import re
import warnings

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; httpx is what the project uses
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from metagenx.server import Settings, create_app
from metagenx.web import PLOTLY_URL, STATIC_DIR, plotly_js

EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
"""An absolute or protocol-relative URL to another host."""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The app without its lifespan: static routes need no job store."""
    return TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("static"))))


def test_the_dashboard_is_served_without_a_token(client: TestClient) -> None:
    index = client.get("/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    for path in re.findall(r'(?:src|href)="(/[^"]+)"', index.text):
        assert client.get(path).status_code == 200, path
    modules = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js"))
    assert "js/app.js" in modules and "js/pages/job.js" in modules
    for module in modules:
        served = client.get(f"/{module}")
        assert served.status_code == 200 and "javascript" in served.headers["content-type"], module


def test_plotly_comes_from_the_installed_package(client: TestClient) -> None:
    served = client.get(PLOTLY_URL)
    assert served.status_code == 200 and "javascript" in served.headers["content-type"]
    assert served.content == plotly_js().read_bytes() and b"plotly.js" in served.content[:1000]
    assert PLOTLY_URL not in client.get("/openapi.json").text


def test_no_file_of_the_dashboard_loads_anything_from_another_host() -> None:
    files = [p for p in STATIC_DIR.rglob("*") if p.suffix in (".html", ".js", ".css")]
    assert len(files) >= 8
    for path in files:
        assert not EXTERNAL.findall(path.read_text()), path


def test_imported_modules_exist() -> None:
    """Every relative import of the ES modules names a file that exists (no build step checks it)."""
    for path in STATIC_DIR.rglob("*.js"):
        for target in re.findall(r"""from\s+'(\.{1,2}/[^']+)'""", path.read_text()):
            assert (path.parent / target).resolve().is_file(), f"{path.name} imports {target}"


def test_user_text_is_never_parsed_as_html() -> None:
    for path in STATIC_DIR.rglob("*.js"):
        text = path.read_text()
        assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", text), path
