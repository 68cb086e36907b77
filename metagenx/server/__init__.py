"""The HTTP server: ``metagenx serve`` runs :func:`create_app` with uvicorn.

One FastAPI application embeds the controller and a local executor (see
:mod:`metagenx.server.service`); the API is under ``/api/v1`` (OpenAPI docs at ``/docs``),
``/healthz`` and ``/metrics`` beside it, the dashboard's static files at ``/``.
:mod:`metagenx.client` is the API's Python client (imported without FastAPI).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metagenx.server.app import create_app
    from metagenx.server.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    """Import the app only when asked for, so the client does not pay for FastAPI."""
    if name == "create_app":
        from metagenx.server.app import create_app

        return create_app
    if name == "Settings":
        from metagenx.server.settings import Settings

        return Settings
    raise AttributeError(f"module 'metagenx.server' has no attribute {name!r}")
