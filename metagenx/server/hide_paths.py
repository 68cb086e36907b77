"""Keep the server's own paths out of what the API shows: a user sees file names, never folders.

Results, settings and error messages recorded on the server name files by their full paths
(``/srv/metagenx/studies/alice/p/fit-…/jobs/001-fit/film.hgx``); :func:`hidden` rewrites every
path under the data folder to its last part (``film.hgx``) in any JSON value.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any


class PathHider:
    """Rewrites paths under ``root`` (the server's data folder) to their file names."""

    def __init__(self, root: Path) -> None:
        roots = {str(root), os.path.realpath(root)}
        alternatives = "|".join(re.escape(r.rstrip(os.sep)) for r in sorted(roots, key=len, reverse=True))
        self.pattern = re.compile(rf"(?:{alternatives})(?:{re.escape(os.sep)}[^\s'\"(),;:]*)?")

    def text(self, value: str) -> str:
        """``value`` with each path under the root replaced by its last part."""
        return self.pattern.sub(lambda m: os.path.basename(m.group().rstrip(os.sep)) or "…", value)

    def hidden(self, value: Any) -> Any:
        """``value`` (JSON: dicts, lists, strings, numbers) with paths under the root hidden."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.hidden(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.hidden(item) for item in value]
        return value
