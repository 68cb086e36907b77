"""Dependencies shared by the routes: the service, a database session, the signed-in user.

They are coroutines on purpose: FastAPI runs a plain-function dependency in its thread
pool, and each such hop costs more than a cached token check or a status read itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from metagenx.server.service import Service


async def get_service(request: Request) -> Service:
    """The app's running :class:`Service`."""
    return cast(Service, request.app.state.service)


ServiceDep = Annotated[Service, Depends(get_service)]


def end_session(session: Session, ok: bool) -> None:
    """Commit (or roll back) and close: the one blocking step of a request's session."""
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session(service: ServiceDep) -> AsyncIterator[Session]:
    """A store session for one request: committed when the route returns, before the response is sent.

    Creating a session does no I/O (it connects on its first query, in the route's thread).
    """
    session = service.store.sessions()
    ok = False
    try:
        yield session
        ok = True
    finally:
        await run_in_threadpool(end_session, session, ok)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
