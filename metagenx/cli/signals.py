"""Ctrl-C and SIGTERM in the commands that run fits: the first asks for a clean stop, a second interrupts."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from rich.console import Console

STOP_FIT = "stopping after this generation; the best result so far is kept (Ctrl-C again to abort)…"
STOP_TUNE = "stopping: the trial running now is dropped, the finished ones are kept (Ctrl-C again to abort)…"
RESUMABLE = "interrupting: running fits are re-queued; run the same command again to resume…"


@contextmanager
def stop_on_signals(
    console: Console, message: str, stop: threading.Event | None = None
) -> Iterator[threading.Event]:
    """While inside, SIGINT/SIGTERM set the yielded event and print ``message``; a second SIGINT
    raises :class:`KeyboardInterrupt`. The previous handlers are restored on leaving."""
    event = stop if stop is not None else threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        event.set()
        console.print(message, highlight=False)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield event
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
