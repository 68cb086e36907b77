"""``python -m metagenx.executors.dask_runner``: the runner child of a Dask worker.

The same runner as the local executor's (:mod:`metagenx.runner.child`), plus one promise:
it exits within :data:`PARENT_POLL` s of its Dask worker's death. A killed worker cannot
close its runners, and an orphaned runner would go on fitting and writing the job's
output files while the job runs again elsewhere.
"""

from __future__ import annotations

import os
import threading
import time

PARENT_POLL = 0.5
"""Seconds between checks that the parent (the Dask worker) is still alive."""


def exit_when_orphaned(parent: int, interval: float = PARENT_POLL) -> None:
    """Poll every ``interval`` s; end this process at once when ``parent`` is no longer its parent."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(70)


def main() -> None:
    watchdog = threading.Thread(
        target=exit_when_orphaned, args=(os.getppid(),), name="metagenx-orphan-watch", daemon=True
    )
    watchdog.start()
    from metagenx.runner.child import main as runner_main

    runner_main()


if __name__ == "__main__":
    main()
