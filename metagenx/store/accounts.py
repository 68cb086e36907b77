"""Accounts of the HTTP server: users, their bearer tokens, and looking a token up.

A token reads ``mgx_<prefix>_<secret>``. Only its SHA-256 is stored; ``prefix`` is kept
in clear (unique, indexed) so that a request finds its token row in one indexed lookup,
and the hashes are then compared in constant time. The token's text is shown once, when
it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from metagenx.store.errors import StoreError
from metagenx.store.models import Token, User, utcnow

TOKEN_SCHEME = "mgx"
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is rewritten at most this often per token (a write per request would be waste)."""


def check_user_name(name: str) -> str:
    """``name`` if it can name a user (letters, digits, ``_.-``; up to 64), else :class:`StoreError`."""
    if not USER_NAME.fullmatch(name):
        raise StoreError(
            f"user name {name!r} is not allowed: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def add_user(
    session: Session,
    name: str,
    *,
    admin: bool = False,
    max_running: int | None = None,
    max_queued: int | None = None,
    limits: dict[str, Any] | None = None,
) -> User:
    """Create user ``name``; :class:`StoreError` if the name is taken or not allowed.

    ``limits`` are sandbox limits of this user's fits over the server's (see
    :class:`metagenx.sandbox.Limits`), e.g. ``{"cpu_seconds": 600}``.
    """
    check_user_name(name)
    if find_user(session, name) is not None:
        raise StoreError(f"user {name!r} exists already")
    for label, limit in (("max running", max_running), ("max queued", max_queued)):
        if limit is not None and limit < 0:
            raise StoreError(f"{label} of user {name!r} must be 0 or more, got {limit}")
    user = User(
        name=name, is_admin=admin, max_running=max_running, max_queued=max_queued, limits=limits or None
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, name: str) -> User | None:
    """The user called ``name``, if any."""
    return session.execute(select(User).where(User.name == name)).scalar_one_or_none()


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.execute(select(User).order_by(User.name)).scalars())


def hash_token(text: str) -> str:
    """SHA-256 (hex) of a token's text: what the store keeps."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str) -> str:
    """A new token for user ``name``; returns its text, which is not stored and cannot be shown again."""
    user = find_user(session, name)
    if user is None:
        raise StoreError(f"there is no user {name!r}; create it first with 'metagenx user add {name}'")
    prefix = secrets.token_hex(6)
    text = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(Token(user_id=user.id, prefix=prefix, sha256=hash_token(text)))
    session.flush()
    return text


def token_prefix(text: str) -> str | None:
    """The lookup prefix of a token's text, or None when it is not shaped like a metagenx token."""
    scheme, _, rest = text.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != TOKEN_SCHEME or not prefix or not secret or len(prefix) > 16:
        return None
    return prefix


def authenticate(session: Session, text: str) -> tuple[User, Token] | None:
    """The user and token behind ``text``, or None (unknown, malformed or revoked token).

    Marks the token used (``last_used_at``, to the minute).
    """
    prefix = token_prefix(text)
    if prefix is None:
        return None
    row = session.execute(
        select(Token, User).join(User, User.id == Token.user_id).where(Token.prefix == prefix)
    ).one_or_none()
    if row is None:
        return None
    token, user = row
    if not hmac.compare_digest(token.sha256, hash_token(text)) or token.revoked:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(update(Token).where(Token.id == token.id).values(last_used_at=now))
        token.last_used_at = now
    return user, token


def revoke_tokens(session: Session, name: str, prefix: str | None = None) -> int:
    """Revoke user ``name``'s token with ``prefix`` (all of them when None); return how many."""
    user = find_user(session, name)
    if user is None:
        raise StoreError(f"there is no user {name!r}")
    query = update(Token).where(Token.user_id == user.id, Token.revoked.is_(False))
    if prefix is not None:
        query = query.where(Token.prefix == prefix)
    result = session.execute(query.values(revoked=True))
    return int(getattr(result, "rowcount", 0) or 0)
