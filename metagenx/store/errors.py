"""Errors of the job store."""

from __future__ import annotations

from metagenx.errors import MetagenxError


class StoreError(MetagenxError):
    """The job database cannot be reached, opened or migrated, or a request to it is invalid."""


class JobStateError(StoreError):
    """A job was asked to move to a state it cannot reach from where it is (e.g. finish a queued job)."""
