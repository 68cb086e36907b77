"""A second "host" for the tests of separate machines: a network namespace (tests/hosts/netns.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.dask.conftest import store  # noqa: F401  (a fresh SQLite job store per test)
from tests.hosts.netns import Host, missing
from tests.slurm.conftest import require

TIMEOUTS = {
    "DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL": "4s",
    "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s",
    "DASK_DISTRIBUTED__COMM__TIMEOUTS__TCP": "11s",  # the least Dask accepts
}
"""Dask's timeouts for the processes the tests start: a silent worker is dropped after 4 s, a silent
connection after 11 s."""


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    """The other host (its namespace and link), with Dask's short timeouts for processes started here."""
    require(missing(), "as root, with Debian's iproute2: sh scripts/install-system-deps.sh test")
    other = Host(os.getpid() % 250 + 1)
    other.delete()  # a namespace left by an earlier run killed half-way
    other.create()
    for name, value in TIMEOUTS.items():
        monkeypatch.setenv(name, value)
    try:
        yield other
    finally:
        other.delete()
