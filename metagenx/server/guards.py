"""ASGI guards in front of every route: no body is read before its token is checked; safe headers.

:class:`TokenBeforeBody` answers 401 to a request to the API that would send a body (an upload)
without a valid token, before one byte of the body is read: FastAPI reads (and spools to disk) a
form before it runs a route's dependencies. :class:`SecurityHeaders` adds the dashboard's
Content-Security-Policy (no inline script, no framing) and ``nosniff``/referrer headers.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metagenx.server.auth import BAD_TOKEN, NO_TOKEN, account_for

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/"

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # Plotly sets element styles and adds its own stylesheet
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""The dashboard's Content-Security-Policy: scripts only from its own files, never inline."""
DOCS_PATHS = ("/docs",)
DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
"""The API documentation page's policy: their files from this server only (:mod:`metagenx.server.docs`);
FastAPI's page carries an inline start-up script, so inline script is allowed there, and nowhere else."""
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def answer(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TokenBeforeBody:
    """401 at once for a body-carrying API request without a valid token (nothing of it is read)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in BODY_METHODS
            and str(scope["path"]).startswith(API_PREFIX)
        ):
            service = getattr(scope["app"].state, "service", None)
            token = bearer_token(scope)
            challenge = [(b"www-authenticate", b"Bearer")]
            if token is None:
                await answer(send, 401, NO_TOKEN, challenge)
                return
            if service is not None and await account_for(service, token) is None:
                await answer(send, 401, BAD_TOKEN, challenge)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds the Content-Security-Policy and the other safe-browsing headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope["path"]).startswith(DOCS_PATHS)
        policy = DOCS_CSP if docs else CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", policy.encode()), *HEADERS]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
