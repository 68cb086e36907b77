"""The reader of untrusted files: ``python -m metagenx.untrusted.child``, one request, one answer.

Runs in the sandbox (see :mod:`metagenx.untrusted.reader`): reads one request
(:mod:`metagenx.untrusted.messages`) on stdin, writes one answer line on its original stdout;
anything GenX or a loader prints goes to stderr. Every failure becomes a :class:`Refused` answer
whose message names the problem without quoting the file's content.
"""

from __future__ import annotations

import math
import os
import sys
import traceback

from metagenx.engine.runtime import pin_threads
from metagenx.untrusted.messages import (
    MAX_ANSWER_BYTES,
    Answer,
    CheckModel,
    ExpandStudy,
    ModelChecked,
    OrderValueRead,
    ReadOrderValue,
    Refused,
    Request,
    decode_request,
    encode,
)


def answer(request: Request) -> Answer:
    """Do what ``request`` asks; raise :class:`~metagenx.errors.MetagenxError` saying why it cannot."""
    from metagenx.errors import DataFileError

    match request:
        case CheckModel(path=path, max_bytes=max_bytes):
            from metagenx.sandbox.validate import validate_model_upload

            return ModelChecked(validate_model_upload(path, max_bytes=max_bytes).value)
        case ExpandStudy(definition=definition, base_dir=base_dir):
            from metagenx.study.definition import study_from_dict
            from metagenx.study.expand import expand
            from metagenx.untrusted.messages import StudyExpanded

            return StudyExpanded(expand(study_from_dict(definition, base_dir, confined=True)))
        case ReadOrderValue(path=path, order=order, options=options):
            from metagenx.watch.series import read_order_quantity

            value, unit = read_order_quantity(path, order, options)
            if value is None or not math.isfinite(value):
                raise DataFileError(f"{os.path.basename(path)}: the {order} value is not a finite number")
            return OrderValueRead(value, unit)


def main() -> None:
    pin_threads()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from metagenx.errors import MetagenxError

    reply: Answer
    try:
        reply = answer(decode_request(sys.stdin.buffer.read(MAX_ANSWER_BYTES)))
    except MetagenxError as exc:
        reply = Refused(type(exc).__name__, str(exc))
    except MemoryError:
        reply = Refused("MemoryError", "reading the file needed more memory than the sandbox allows")
    except Exception as exc:  # an unforeseen failure of GenX or a loader: name it, never the content
        traceback.print_exc(file=sys.stderr)
        reply = Refused(type(exc).__name__, f"unexpected {type(exc).__name__} while reading the file")
    out.write(encode(reply))


if __name__ == "__main__":
    main()
