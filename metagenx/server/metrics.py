"""Prometheus metrics of the server: queue length, running fits, fits finished, evaluations per second."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from metagenx.store import JobState

RATE_WINDOW = 10.0
"""Seconds over which ``metagenx_evaluations_per_second`` averages."""

CountsSource = Callable[[], dict[JobState, int]]


class JobCounts(Collector):
    """Job counts by state, read from the store at each scrape."""

    def __init__(self, counts: CountsSource) -> None:
        self.counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.counts()
        by_state = GaugeMetricFamily("metagenx_jobs", "Jobs in the store by state.", labels=["state"])
        for state, count in counts.items():
            by_state.add_metric([state.value], count)
        yield by_state
        yield GaugeMetricFamily(
            "metagenx_queue_length", "Jobs waiting to run.", value=counts.get(JobState.QUEUED, 0)
        )
        yield GaugeMetricFamily(
            "metagenx_running_fits", "Fits running now.", value=counts.get(JobState.RUNNING, 0)
        )


class ServerMetrics:
    """The server's own registry (one per app, so tests can run several apps in one process)."""

    def __init__(self, counts: CountsSource, workers: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(JobCounts(counts))
        self.finished = Counter(
            "metagenx_fits_finished",
            "Fits that ended since the server started, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.evaluations = Counter(
            "metagenx_evaluations", "FOM evaluations done by fits of this server.", registry=self.registry
        )
        rate = Gauge(
            "metagenx_evaluations_per_second",
            f"FOM evaluations per second over the last {RATE_WINDOW:g} s.",
            registry=self.registry,
        )
        rate.set_function(self.evaluation_rate)
        slots = Gauge("metagenx_workers", "Fits that can run at once.", registry=self.registry)
        slots.set_function(lambda: capacity_or_zero(workers))
        self.lock = threading.Lock()
        self.last_evaluations: dict[int, int] = {}
        self.recent: deque[tuple[float, int]] = deque()

    def fit_finished(self, job_id: int, state: JobState) -> None:
        """Count a fit that ended as ``state``."""
        self.finished.labels(state.value).inc()
        with self.lock:
            self.last_evaluations.pop(job_id, None)

    def progress(self, job_id: int, evaluations: int) -> None:
        """Record a progress report: ``evaluations`` so far in the job's current run."""
        with self.lock:
            previous = self.last_evaluations.get(job_id, 0)
            added = evaluations - previous if evaluations >= previous else evaluations  # a new run
            self.last_evaluations[job_id] = evaluations
            now = time.monotonic()
            self.recent.append((now, added))
            self.trim(now)
        self.evaluations.inc(added)

    def evaluation_rate(self) -> float:
        """Evaluations per second over the last :data:`RATE_WINDOW` seconds."""
        with self.lock:
            self.trim(time.monotonic())
            return sum(added for _, added in self.recent) / RATE_WINDOW

    def trim(self, now: float) -> None:
        while self.recent and self.recent[0][0] < now - RATE_WINDOW:
            self.recent.popleft()


def capacity_or_zero(workers: Callable[[], int]) -> int:
    """The executor's capacity now; 0 while it cannot say (a Dask scheduler not reachable)."""
    try:
        return workers()
    except Exception:  # a scrape must never fail
        return 0
