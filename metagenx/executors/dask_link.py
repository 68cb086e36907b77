"""The connection of a dask executor to its scheduler: open it with checks, notice its loss, reconnect.

Dask's own client gives up reconnecting after its connect timeout and cancels every future;
a controller must outlive a scheduler restart, so this link opens a fresh client instead,
with backoff, for up to ``reconnect_timeout`` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from metagenx.errors import MetagenxError
from metagenx.executors.dask_connect import (
    ExecutorUnavailableError,
    VersionMismatchError,
    check_versions,
    open_client,
)

log = logging.getLogger(__name__)

HEARTBEAT = 0.5
"""Seconds between checks of the connection."""

REFRESH = 2.0
"""Seconds between refreshes of the number of worker threads."""

MAX_BACKOFF = 10.0
"""Longest wait between two reconnection attempts, s."""

Handler = Callable[[tuple[float, dict[str, Any]]], None]


class SchedulerLink:
    """A client to the scheduler at ``address`` with ``topics`` subscribed (topic → handler).

    ``on_lost`` is called (on the link's thread) when the connection breaks, before any
    reconnection; if it returns False the link stops there (the executor fell back to
    something else). ``failure`` is set when reconnecting is hopeless.
    """

    def __init__(
        self,
        address: str,
        topics: dict[str, Handler],
        on_lost: Callable[[], bool],
        *,
        connect_timeout: float = 5.0,
        reconnect_timeout: float | None = 600.0,
        security: Any = None,
    ) -> None:
        self.address = address
        self.topics = topics
        self.on_lost = on_lost
        self.connect_timeout = connect_timeout
        self.reconnect_timeout = reconnect_timeout
        self.security = security
        self.lock = threading.Lock()
        self.client: Any = None
        self.threads = 0
        self.failure: MetagenxError | None = None
        self.closing = threading.Event()
        self.watcher: threading.Thread | None = None

    def open(self) -> None:
        """Connect, check versions, subscribe; raise :class:`ExecutorUnavailableError` or
        :class:`VersionMismatchError`. Then watch the connection from a daemon thread."""
        self.connect()
        self.watcher = threading.Thread(target=self.watch, name="metagenx-dask-link", daemon=True)
        self.watcher.start()

    def connect(self) -> None:
        client = open_client(self.address, self.connect_timeout, self.security)
        try:
            check_versions(client, self.address)
            for topic, handler in self.topics.items():
                client.subscribe_topic(topic, handler)
            threads = sum(client.nthreads().values())
        except BaseException:
            close_quietly(client)
            raise
        with self.lock:
            self.client, self.threads = client, threads

    @property
    def up(self) -> bool:
        """True while the client is connected (a lost scheduler turns it False within a heartbeat)."""
        client = self.client
        return client is not None and client.status == "running"

    def watch(self) -> None:
        refreshed = time.monotonic()
        while not self.closing.wait(HEARTBEAT):
            if not self.up:
                if not self.recover():
                    return
                continue
            if time.monotonic() - refreshed > REFRESH:
                refreshed = time.monotonic()
                with contextlib.suppress(Exception):
                    self.threads = sum(self.client.nthreads().values())

    def recover(self) -> bool:
        """Drop the broken client, tell the executor, reconnect; False when the link gives up."""
        with self.lock:
            client, self.client = self.client, None
        if client is not None:
            close_quietly(client)
        if not self.on_lost():
            return False
        lost_at, delay = time.monotonic(), 0.5
        while not self.closing.is_set():
            try:
                self.connect()
                log.warning("reconnected to the Dask scheduler at %s", self.address)
                return True
            except VersionMismatchError as exc:
                self.failure = exc
                return False
            except ExecutorUnavailableError:
                waited = time.monotonic() - lost_at
                if self.reconnect_timeout is not None and waited > self.reconnect_timeout:
                    self.failure = ExecutorUnavailableError(
                        f"lost the Dask scheduler at {self.address} and could not reconnect within"
                        f" {self.reconnect_timeout:g} s; the unfinished jobs are queued: run again later"
                    )
                    return False
            self.closing.wait(delay)
            delay = min(2 * delay, MAX_BACKOFF)
        return False

    def close(self) -> None:
        self.closing.set()
        with self.lock:
            client, self.client = self.client, None
        if client is not None:
            close_quietly(client)
        if self.watcher is not None and self.watcher is not threading.current_thread():
            self.watcher.join(timeout=5.0)


def close_quietly(client: Any, timeout: float = 3.0) -> None:
    """Close a Dask client, whatever state its connection is in."""
    with contextlib.suppress(Exception):
        client.close(timeout=timeout)
