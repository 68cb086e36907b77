"""HTTP status of each kind of error; every error body is ``{"detail": "<a sentence>"}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from metagenx.errors import (
    DataFileError,
    MetagenxError,
    ModelFileError,
    RunnerProtocolError,
    SettingsError,
    StudyDefinitionError,
)
from metagenx.sandbox.errors import LimitExceededError, SandboxUnavailableError
from metagenx.store import JobStateError


class QuotaExceeded(MetagenxError):
    """A per-user limit (queued jobs) would be exceeded: 429."""


STATUS: tuple[tuple[type[MetagenxError], int], ...] = (
    (QuotaExceeded, 429),
    (JobStateError, 409),
    (ModelFileError, 422),
    (SettingsError, 422),
    (StudyDefinitionError, 422),
    (DataFileError, 422),
    (LimitExceededError, 422),
    (RunnerProtocolError, 422),
    (SandboxUnavailableError, 503),
)


def status_of(error: MetagenxError) -> int:
    """The HTTP status for ``error`` (400 for any other :class:`MetagenxError`)."""
    return next((code for kind, code in STATUS if isinstance(error, kind)), 400)


async def metagenx_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, MetagenxError)
    return JSONResponse({"detail": str(error)}, status_code=status_of(error))


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    """422 naming each offending field in one sentence; the structured list stays under ``errors``."""
    assert isinstance(error, RequestValidationError)
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path"))
        problems.append(f"{where or 'request'}: {item.get('msg', 'invalid')}")
    return JSONResponse(
        {"detail": "; ".join(problems), "errors": jsonable(error.errors())},
        status_code=422,
    )


def jsonable(errors: object) -> object:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(errors, custom_encoder={Exception: str})


async def database_error(request: Request, error: Exception) -> JSONResponse:
    """503 with a sentence when the job store cannot be read or written (never a bare 500)."""
    reason = " ".join(str(getattr(error, "orig", None) or error).split())[:300]
    return JSONResponse(
        {"detail": f"the job database cannot serve this request right now ({reason}); see /healthz"},
        status_code=503,
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(MetagenxError, metagenx_error)
    app.add_exception_handler(SQLAlchemyError, database_error)
    app.add_exception_handler(RequestValidationError, validation_error)
