"""``/healthz`` (no token needed) and ``/metrics`` (Prometheus text format, an admin's token needed:
the counts cover every user's jobs)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from metagenx.server.auth import CurrentAdmin
from metagenx.server.deps import ServiceDep
from metagenx.server.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def health(service: ServiceDep) -> JSONResponse:
    """``ok`` while every table of the database reads, the controller runs and can write, and the
    sandbox is there; 503 otherwise, saying what is wrong and what to do."""
    database = (await run_in_threadpool(service.database_health)).describe()
    controller = "running" if service.alive else (service.failure or "not running")
    fault = service.controller.fault
    storage = "ok" if fault is None else fault.describe()
    sandbox = service.sandbox.state
    ok = database == "ok" and service.alive and sandbox != "unavailable" and fault is None
    body = Health(
        status="ok" if ok else "degraded",
        database=database,
        controller=controller,
        sandbox=sandbox,
        storage=storage,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
def metrics(service: ServiceDep, admin: CurrentAdmin) -> Response:
    """Queue length, running fits, fits finished by outcome, evaluations per second (Prometheus);
    admins only, as the figures cover every user's jobs."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
