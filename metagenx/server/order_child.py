"""Read a pushed data file's order value in a child process: ``python -m metagenx.server.order_child``.

A watch ordered by a header value (``header:temperature``) or a column needs one number
from each data file. Uploaded files are untrusted and the server never parses them in its
own process (an ORSO header is YAML), so this child does it, under a time limit: it reads
``{"path", "order", "options"}`` on stdin and answers ``{"value": x}`` or ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from metagenx.errors import DataFileError
from metagenx.runner.process import runner_environment

TIMEOUT = 20.0
"""Seconds reading one file's order value may take."""


def order_value_in_child(path: str, order: str, options: Mapping[str, Any]) -> float | None:
    """The file's order value (None for ``name``); :class:`DataFileError` with the reason otherwise."""
    if order == "name":
        return None
    request = json.dumps({"path": path, "order": order, "options": dict(options)})
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "metagenx.server.order_child"],
            input=request.encode(),
            capture_output=True,
            timeout=TIMEOUT,
            env=runner_environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DataFileError(f"reading the {order} value took longer than {TIMEOUT:g} s") from None
    try:
        answer = json.loads(finished.stdout.decode() or "{}")
    except json.JSONDecodeError:
        answer = {}
    if "value" in answer:
        return None if answer["value"] is None else float(answer["value"])
    lines = [line for line in finished.stderr.decode(errors="replace").splitlines() if line.strip()]
    raise DataFileError(answer.get("error") or (lines[-1] if lines else "the reading process gave no answer"))


def main() -> None:
    """Child side: one request on stdin, one answer on stdout."""
    from metagenx.watch.series import read_order_value

    request = json.loads(sys.stdin.read())
    try:
        answer: dict[str, Any] = {
            "value": read_order_value(request["path"], request["order"], request["options"])
        }
    except DataFileError as error:
        answer = {"error": str(error)}
    except Exception as error:  # an unforeseen failure: say what it was
        answer = {"error": f"{type(error).__name__}: {error}"}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
