"""Expand a submitted study in a child process: ``python -m metagenx.server.expand_child``.

Expanding checks the study against its template, which means loading the model with
GenX, and so running the model's script. Uploaded models are untrusted, so the server
never does that in its own process: it sends ``{"definition": {...}, "base_dir": "..."}``
on this child's stdin and reads ``{"specs": [...]}`` or ``{"error": {"kind", "message"}}``
from its stdout.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

from metagenx.errors import StudyDefinitionError
from metagenx.runner.protocol import DataAssignment, ParameterOverride
from metagenx.server.child_call import ask_child
from metagenx.study.spec import JobSpec

TIMEOUT = 120.0
"""Seconds an expansion may take (GenX import, model load, data files)."""


def spec_from_dict(values: dict[str, Any]) -> JobSpec:
    """A :class:`JobSpec` from ``dataclasses.asdict`` of one."""
    return JobSpec(
        **values
        | {
            "data": [DataAssignment(**d) for d in values.get("data", [])],
            "overrides": [ParameterOverride(**o) for o in values.get("overrides", [])],
        }
    )


def expand_in_child(definition: dict[str, Any], base_dir: str) -> list[JobSpec]:
    """The study's jobs, expanded by a child process; :class:`StudyDefinitionError` (422) on any problem."""
    request = {"definition": definition, "base_dir": base_dir}
    try:
        reply = ask_child("metagenx.server.expand_child", request, TIMEOUT)
    except subprocess.TimeoutExpired:
        raise StudyDefinitionError(
            f"checking the study against its template took longer than {TIMEOUT:g} s"
        ) from None
    answer = reply.answer
    if "specs" in answer:
        return [spec_from_dict(item) for item in answer["specs"]]
    error = answer.get("error") or {}
    message = error.get("message") or reply.last_error_line or "the expansion process ended without an answer"
    raise StudyDefinitionError(f"the study cannot be expanded: {message}")


def main() -> None:
    """Child side: read the request on stdin, answer on stdout (GenX's own prints go to stderr)."""
    protocol = sys.stdout
    sys.stdout = sys.stderr
    from metagenx.errors import MetagenxError
    from metagenx.study.definition import study_from_dict
    from metagenx.study.expand import expand

    request = json.loads(sys.stdin.read())
    try:
        specs = expand(study_from_dict(request["definition"], request["base_dir"]))
        answer: dict[str, Any] = {"specs": [dataclasses.asdict(spec) for spec in specs]}
    except MetagenxError as error:
        answer = {"error": {"kind": type(error).__name__, "message": str(error)}}
    except Exception as error:  # an unforeseen GenX failure: say what it was
        answer = {"error": {"kind": type(error).__name__, "message": f"{type(error).__name__}: {error}"}}
    protocol.write(json.dumps(answer, default=str))
    protocol.flush()


if __name__ == "__main__":
    main()
