"""Server-Sent Events of a job or a study: stored history first, then live events, then ``end``.

Every frame is ``event: <kind>`` + ``data: <JSON>``; kinds are ``state`` (``state``,
``previous``, ``reason``, ``fom``), ``progress`` (``generation``, ``best_fom``,
``evaluations``, ``elapsed``), ``log`` (``message``), on a job's stream ``snapshot`` (a running
fit's current best ``parameters`` and ``datasets``: the newest one first, then each as it comes,
never stored) and a final ``end`` (the job's final
state and FOM, or a study's counts), after which the stream closes. Stored events carry
their id, so a client reconnecting with ``Last-Event-ID`` resumes where it left off.
Subscribing happens before the history is read, so nothing falls between the two.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from metagenx.server.broadcast import LiveEvent, Subscription
from metagenx.server.service import Service
from metagenx.store import Event, EventKind, Job, JobState, counts_by_state, events_after

PAGE = 1000
FINISHED = {state.value for state in JobState if state.finished}


def frame(kind: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """One SSE frame."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, default=str, allow_nan=False)}\n\n"


def snapshot_frame(text: str) -> str:
    """The frame of a snapshot whose JSON text was made once, when it arrived."""
    return f"event: snapshot\ndata: {text}\n\n"


def stored_frame(event: Event) -> str:
    """The frame of a stored event."""
    data = event.data or {}
    base: dict[str, Any] = {"job_id": event.job_id, "run": event.run, "at": event.at.isoformat()}
    if event.kind == EventKind.STATE:
        base |= {"state": data.get("to"), "previous": data.get("from"), "reason": data.get("reason")}
    elif event.kind == EventKind.PROGRESS:
        base |= {
            "generation": event.generation,
            "best_fom": event.best_fom,
            "evaluations": event.evaluations,
            "elapsed": data.get("elapsed"),
        } | ({"solve": data["solve"]} if "solve" in data else {})
    else:
        base |= {"message": data.get("message")}
    return frame(event.kind.value, base, event.id)


def history(service: Service, job_id: int, after: int) -> tuple[list[Event], Job | None]:
    """The job's stored events after id ``after`` and then the job itself.

    From the start (``after == 0``), progress reports are thinned to the newest one.
    """
    events: list[Event] = []
    thin = after == 0
    with service.store.session() as session:
        while page := events_after(session, job_id, after, PAGE):
            events.extend(page)
            after = page[-1].id
        job = session.get(Job, job_id)
    if thin:
        progress = [e.id for e in events if e.kind == EventKind.PROGRESS]
        events = [e for e in events if e.kind != EventKind.PROGRESS or e.id == progress[-1]]
    return events, job


def job_end(job: Job) -> str:
    return frame("end", {"job_id": job.id, "state": job.state.value, "fom": job.fom, "error": job.last_error})


async def next_live(subscription: Subscription, keepalive: float) -> LiveEvent | None:
    """The next live event, or None after ``keepalive`` seconds of silence."""
    try:
        return await asyncio.wait_for(subscription.queue.get(), keepalive)
    except TimeoutError:
        return None


async def job_stream(service: Service, job_id: int, after: int = 0) -> AsyncIterator[str]:
    """Events of one job until it is finished."""
    subscription = service.broadcaster.subscribe(job_id=job_id)
    try:
        events, job = await run_in_threadpool(history, service, job_id, after)
        for event in events:
            yield stored_frame(event)
        if job is None or job.state.finished:
            if job is not None:
                yield job_end(job)
            return
        last_state = job.state.value
        held = service.snapshots.get(job_id) if job.state == JobState.RUNNING else None
        if held is not None:
            yield snapshot_frame(held)
        while True:
            live = await next_live(subscription, service.settings.sse_keepalive)
            if live is None:
                yield ": keep-alive\n\n"
                continue
            kind = live["type"]
            if kind == "snapshot":
                yield snapshot_frame(live["text"])
                continue
            if kind == "state" and live["state"] == last_state:
                continue
            last_state = live["state"] if kind == "state" else last_state
            yield frame(kind, {k: v for k, v in live.items() if k != "type"})
            if kind == "state" and live["state"] in FINISHED:
                yield frame("end", {k: live.get(k) for k in ("job_id", "state", "fom", "error")})
                return
    finally:
        service.broadcaster.unsubscribe(subscription)


def study_snapshot(service: Service, study_id: int) -> tuple[list[Job], dict[str, int]]:
    with service.store.session() as session:
        jobs = list(session.execute(select(Job).where(Job.study_id == study_id).order_by(Job.id)).scalars())
        counts = {state.value: n for state, n in counts_by_state(session, study_id).items()}
    return jobs, counts


def study_counts(service: Service, study_id: int) -> dict[str, int]:
    with service.store.session() as session:
        return {state.value: n for state, n in counts_by_state(session, study_id).items()}


def busy(counts: dict[str, int]) -> bool:
    return counts.get("queued", 0) + counts.get("running", 0) > 0


async def study_stream(service: Service, study_id: int) -> AsyncIterator[str]:
    """Each job's current state, then live events of the study's jobs, until none is queued or running."""
    subscription = service.broadcaster.subscribe(study_id=study_id)
    try:
        jobs, counts = await run_in_threadpool(study_snapshot, service, study_id)
        for job in jobs:
            yield frame(
                "state", {"job_id": job.id, "state": job.state.value, "fom": job.fom, "run": job.runs}
            )
        while busy(counts):
            live = await next_live(subscription, service.settings.sse_keepalive)
            if live is None:
                yield ": keep-alive\n\n"
                continue
            yield frame(live["type"], {k: v for k, v in live.items() if k != "type"})
            if live["type"] == "state":
                counts = await run_in_threadpool(study_counts, service, study_id)
        yield frame("end", {"study_id": study_id, "counts": counts})
    finally:
        service.broadcaster.unsubscribe(subscription)
