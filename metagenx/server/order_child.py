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
from metagenx.server.child_call import ask_child

TIMEOUT = 20.0
"""Seconds reading one file's order value may take."""


def order_value_in_child(path: str, order: str, options: Mapping[str, Any]) -> float | None:
    """The file's order value (None for ``name``); :class:`DataFileError` with the reason otherwise."""
    if order == "name":
        return None
    request = {"path": path, "order": order, "options": dict(options)}
    try:
        reply = ask_child("metagenx.server.order_child", request, TIMEOUT)
    except subprocess.TimeoutExpired:
        raise DataFileError(f"reading the {order} value took longer than {TIMEOUT:g} s") from None
    answer = reply.answer
    if "value" in answer:
        return None if answer["value"] is None else float(answer["value"])
    raise DataFileError(answer.get("error") or reply.last_error_line or "the reading process gave no answer")


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
