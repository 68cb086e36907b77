"""The latest snapshot of each running job, kept in memory as the JSON text the event streams send.

A snapshot (the current best parameters and their simulation against the data, see
:class:`~metagenx.events.Snapshot`) is serialized once, when it arrives, and never stored in the
job store: a job's page gets the newest one when it connects to the job's event stream, and each
later one as it comes. It is forgotten when the job's run ends or a new run starts. Fits on Dask
workers send none: their supervisor relays only ``started`` and ``progress`` (Dask's scheduler keeps
every relayed event in its log, no place for megabytes of curves every few seconds).
"""

from __future__ import annotations

import dataclasses
import json
import threading

from metagenx.events import Snapshot


def snapshot_json(snapshot: Snapshot) -> str:
    """``snapshot`` as the data of a ``snapshot`` frame (its numbers are finite or null)."""
    data = dataclasses.asdict(snapshot)
    del data["type"]
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


class LatestSnapshots:
    """Per job, the JSON text of its newest snapshot; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.texts: dict[int, str] = {}

    def keep(self, snapshot: Snapshot) -> str:
        """Remember ``snapshot`` as its job's newest; its JSON text."""
        text = snapshot_json(snapshot)
        with self.lock:
            self.texts[snapshot.job_id] = text
        return text

    def get(self, job_id: int) -> str | None:
        with self.lock:
            return self.texts.get(job_id)

    def forget(self, job_id: int) -> None:
        with self.lock:
            self.texts.pop(job_id, None)
