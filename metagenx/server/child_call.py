"""One request to a short-lived child process that reads untrusted files for the server.

The child (``python -m <module>``) reads one JSON request on stdin and writes one JSON answer
on stdout; the server never parses uploaded files in its own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from metagenx.runner.process import runner_environment


@dataclass(frozen=True)
class ChildAnswer:
    """The child's JSON answer (empty when it gave none) and the last line it wrote to stderr."""

    answer: dict[str, Any]
    last_error_line: str | None


def ask_child(module: str, request: dict[str, Any], timeout: float) -> ChildAnswer:
    """Run ``python -m module`` with ``request``; :class:`subprocess.TimeoutExpired` after ``timeout`` s."""
    finished = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(request).encode(),
        capture_output=True,
        timeout=timeout,
        env=runner_environment(),
        check=False,
    )
    try:
        answer = json.loads(finished.stdout.decode() or "{}")
    except json.JSONDecodeError:
        answer = {}
    lines = [line.strip() for line in finished.stderr.decode(errors="replace").splitlines() if line.strip()]
    return ChildAnswer(answer if isinstance(answer, dict) else {}, lines[-1] if lines else None)
