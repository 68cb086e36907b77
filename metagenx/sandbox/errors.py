"""Errors of the sandbox, in the one hierarchy of :mod:`metagenx.errors`."""

from __future__ import annotations

from metagenx.errors import MetagenxError


class SandboxUnavailableError(MetagenxError):
    """The sandbox this server requires cannot be set up here; nothing was run."""

    exit_code = 3


class LimitExceededError(MetagenxError):
    """A fit went over one of its limits (CPU, memory, wall time, output, processes) and was stopped."""
