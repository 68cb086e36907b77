"""The controller: schedules stored jobs on an executor and records every outcome.

Executors and runners only send events back; solve and tune jobs run on coordinators
(:mod:`metagenx.controller.coordinated`) that share the controller's executor.
"""

from __future__ import annotations

from metagenx.controller.loop import Controller, RunSummary

__all__ = ["Controller", "RunSummary"]
