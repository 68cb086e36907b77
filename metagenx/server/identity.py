"""Who is asking: the signed-in account, and a short-lived cache of verified tokens."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

CACHE_SECONDS = 10.0
CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Account:
    """The signed-in user, detached from the database."""

    name: str
    is_admin: bool = False
    max_running: int | None = None
    max_queued: int | None = None

    def may_see(self, owner: str) -> bool:
        """True when this user may see and change what ``owner`` owns."""
        return self.is_admin or owner == self.name


class TokenCache:
    """Recently verified tokens: SHA-256 of the token's text → (account, expiry).

    A revoked token keeps working for at most :data:`CACHE_SECONDS`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[Account, float]] = {}

    def get(self, digest: str) -> Account | None:
        with self.lock:
            entry = self.entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: str, account: Account) -> None:
        with self.lock:
            if len(self.entries) >= CACHE_SIZE:
                self.entries.clear()
            self.entries[digest] = (account, time.monotonic() + CACHE_SECONDS)
