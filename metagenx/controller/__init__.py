"""The controller: turns requests into stored jobs, schedules them on an executor, records every outcome.

It is the only writer of the job store; executors and runners only send events back.
"""

from __future__ import annotations

from metagenx.controller.loop import Controller, RunSummary
from metagenx.controller.submit import submit_study

__all__ = ["Controller", "RunSummary", "submit_study"]
