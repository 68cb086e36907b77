"""Live events from the controller thread to the server's asyncio event streams.

The controller publishes from its own thread; each subscriber is an :class:`asyncio.Queue`
on the server's event loop, filled with ``loop.call_soon_threadsafe``. A subscriber that
falls more than :data:`QUEUE_SIZE` events behind loses the newest ones (it can always
re-read the stored events), so a stalled client never makes the controller wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 10_000

LiveEvent = dict[str, Any]
"""``{"type": "state"|"progress", "job_id": N, "study_id": M, ...}`` (see :mod:`metagenx.server.service`)."""


@dataclass(eq=False)
class Subscription:
    """One listener: events of ``job_id`` or of ``study_id`` (both None: every event)."""

    loop: asyncio.AbstractEventLoop
    job_id: int | None = None
    study_id: int | None = None
    queue: asyncio.Queue[LiveEvent] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def wants(self, event: LiveEvent) -> bool:
        """True when ``event`` concerns what this subscription follows."""
        if self.job_id is not None and event.get("job_id") != self.job_id:
            return False
        return self.study_id is None or event.get("study_id") == self.study_id

    def offer(self, event: LiveEvent) -> None:
        """Put ``event`` in the queue (on the loop's thread); dropped when the queue is full."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(event)


class Broadcaster:
    """Fan-out of live events to any number of subscriptions; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.subscriptions: set[Subscription] = set()

    def subscribe(self, *, job_id: int | None = None, study_id: int | None = None) -> Subscription:
        """A new subscription on the running event loop (call from a coroutine)."""
        subscription = Subscription(asyncio.get_running_loop(), job_id=job_id, study_id=study_id)
        with self.lock:
            self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self.lock:
            self.subscriptions.discard(subscription)

    def publish(self, event: LiveEvent) -> None:
        """Deliver ``event`` to every subscription that wants it; callable from any thread."""
        with self.lock:
            targets = [s for s in self.subscriptions if s.wants(event)]
        for subscription in targets:
            with contextlib.suppress(RuntimeError):  # its loop is closed: the server is stopping
                subscription.loop.call_soon_threadsafe(subscription.offer, event)
