"""Bearer-token authentication: every route but ``/healthz`` needs ``Authorization: Bearer mgx_…``.

Tokens are looked up by their prefix and compared by SHA-256 in constant time (see
:mod:`metagenx.store.accounts`). A verified token is remembered for a few seconds
(keyed by its hash, never its text; see :class:`~metagenx.server.identity.TokenCache`),
so a busy client costs one lookup per interval.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from metagenx.server.deps import ServiceDep
from metagenx.server.identity import Account
from metagenx.server.service import Service
from metagenx.store import authenticate
from metagenx.store.accounts import hash_token

bearer = HTTPBearer(
    auto_error=False,
    description="A token from `metagenx token create NAME`, sent as `Authorization: Bearer <token>`.",
)


def verify(service: Service, token: str) -> Account | None:
    """The account of ``token``, or None (reads the store)."""
    with service.store.session() as session:
        found = authenticate(session, token)
        if found is None:
            return None
        user = found[0]
        return Account(user.name, user.is_admin, user.max_running, user.max_queued)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


NO_TOKEN = "this needs a token: send 'Authorization: Bearer <token>' (metagenx token create)"
BAD_TOKEN = "the token is not valid (unknown, mistyped or revoked)"


async def account_for(service: Service, token: str) -> Account | None:
    """The account of ``token`` (from the cache of recently verified tokens, else the store), or None."""
    digest = hash_token(token)
    account = service.tokens.get(digest)
    if account is None:
        account = await run_in_threadpool(verify, service, token)
        if account is not None:
            service.tokens.put(digest, account)
    return account


async def current_user(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    """The user whose token the request carries; 401 without a valid one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized(NO_TOKEN)
    account = await account_for(service, credentials.credentials)
    if account is None:
        raise unauthorized(BAD_TOKEN)
    return account


async def current_admin(user: Annotated[Account, Depends(current_user)]) -> Account:
    """The signed-in user, who must be an admin; 403 otherwise."""
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this needs an admin's token")
    return user


CurrentUser = Annotated[Account, Depends(current_user)]
CurrentAdmin = Annotated[Account, Depends(current_admin)]
