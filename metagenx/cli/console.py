"""The consoles the commands print to: the terminal's width on a terminal, wide when piped.

Rich fits tables to 80 columns when its output is not a terminal, which cut parameter names
(``inst.setI…``) in logs and files; a piped or redirected command gets :data:`PIPED_WIDTH`
columns instead (``COLUMNS`` still decides when it is set).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console

PIPED_WIDTH = 240
"""Columns of a console whose output is not a terminal."""


def make_console(*, stderr: bool = False, **options: Any) -> Console:
    """A Rich console on stdout (or ``stderr``) with ``options``, wide when not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    if "width" not in options and "COLUMNS" not in os.environ and not stream.isatty():
        options["width"] = PIPED_WIDTH
    return Console(stderr=stderr, **options)
