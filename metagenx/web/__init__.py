"""The browser dashboard: static files served by the API server at ``/``, no build step.

Plain HTML, CSS and JavaScript modules in ``static/``; interactive plots with Plotly's
JavaScript from the installed ``plotly`` Python package, served by :data:`router` at
:data:`PLOTLY_URL`, so the dashboard needs no CDN and works on an offline network.
"""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).with_name("static")
PLOTLY_URL = "/static/vendor/plotly.min.js"

router = APIRouter(include_in_schema=False)


@cache
def plotly_js() -> Path:
    """``plotly.min.js`` of the installed ``plotly`` package (found without importing plotly)."""
    spec = find_spec("plotly")
    if spec is None or spec.origin is None:
        raise RuntimeError("the plotly package is not installed")
    return Path(spec.origin).with_name("package_data") / "plotly.min.js"


@router.get(PLOTLY_URL)
def plotly_route() -> FileResponse:
    """Plotly's JavaScript (no token needed, like the rest of the dashboard's files)."""
    return FileResponse(plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
