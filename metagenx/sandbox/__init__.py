"""Sandboxed runners for untrusted model files: bubblewrap, a uid per runner, limits, Landlock, seccomp.

A server switches the sandbox on with one object::

    from metagenx.sandbox import SandboxPolicy, check_sandbox, sandboxed_runner_factory

    policy = SandboxPolicy()                  # limits per fit, uids, optional layers
    report = check_sandbox(policy)            # really starts a trial sandbox
    print(report.describe())                  # one line per layer, with how to fix what is missing
    executor = LocalExecutor(workers, runner_factory=sandboxed_runner_factory(policy))

If the sandbox is not available, every job fails with :meth:`SandboxReport.message`
(nothing runs). See ``docs/security.md`` for the threat model and each layer.
"""

from __future__ import annotations

from metagenx.sandbox.errors import LimitExceededError, SandboxUnavailableError
from metagenx.sandbox.policy import UNSAFE_WARNING, Layer, Limits, SandboxMode, SandboxPolicy
from metagenx.sandbox.probe import LayerStatus, SandboxReport, check_sandbox
from metagenx.sandbox.runner import SandboxedRunnerProcess, runner_factory_for, sandboxed_runner_factory
from metagenx.sandbox.validate import validate_model_upload

__all__ = [
    "UNSAFE_WARNING",
    "Layer",
    "LayerStatus",
    "LimitExceededError",
    "Limits",
    "SandboxMode",
    "SandboxPolicy",
    "SandboxReport",
    "SandboxUnavailableError",
    "SandboxedRunnerProcess",
    "check_sandbox",
    "runner_factory_for",
    "sandboxed_runner_factory",
    "validate_model_upload",
]
