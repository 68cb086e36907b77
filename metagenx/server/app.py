"""The FastAPI application: the HTTP API under ``/api/v1``, health and metrics, the dashboard at ``/``.

:func:`create_app` builds it; its lifespan starts the :class:`~metagenx.server.service.Service`
(job store, controller thread, local executor) and stops it on shutdown, re-queueing
running fits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from metagenx.server import docs, errors
from metagenx.server.guards import SecurityHeaders, TokenBeforeBody
from metagenx.server.routes import events, health, jobs, projects, studies, tunes, watches
from metagenx.server.service import Service
from metagenx.server.settings import Settings
from metagenx.server.uploads import BodyLimit
from metagenx.version import __version__
from metagenx.web import STATIC_DIR
from metagenx.web import router as web_router

API_PREFIX = "/api/v1"
DESCRIPTION = """Run GenX reflectivity fits on this server: submit models and studies, follow them
live (Server-Sent Events), download fitted models, results and plots.

Every route except `/healthz` needs `Authorization: Bearer <token>` (`metagenx token create NAME`)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings`` (default: from ``METAGENX_*`` environment variables)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await run_in_threadpool(Service, settings)
        await run_in_threadpool(service.start)
        app.state.service = service
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    app = FastAPI(
        title="metagenx",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    api = APIRouter(prefix=API_PREFIX)
    for module in (jobs, studies, tunes, projects, events, watches):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(web_router)
    docs.install(app)
    errors.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.add_middleware(TokenBeforeBody)  # added last, so it runs first: no body read without a token
    app.add_middleware(SecurityHeaders)
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="web")
    return app
