"""Find the line of a key in a study file's text (``tomllib`` and ``json`` give no positions).

TOML: each ``[table]`` header and ``key = value`` line is read as a full key path
(table plus dotted key); the line whose path reaches deepest into the wanted path wins,
and a key inside an inline table (``options = { x_col = 1 }``) counts on its line.
JSON: the keys of the path are searched for one after another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
KEY_PATH = rf"{KEY}(?:\s*\.\s*{KEY})*"
HEADER = re.compile(rf"^\s*\[\[?\s*({KEY_PATH})\s*\]\]?")
ASSIGN = re.compile(rf"^\s*({KEY_PATH})\s*=")


def key_line(content: str, path: Sequence[str | int]) -> int | None:
    """1-based line of the key at ``path`` (list indices ignored) or its nearest parent; None if absent."""
    keys = tuple(p for p in path if isinstance(p, str))
    if not keys:
        return None
    if content.lstrip().startswith("{"):
        return json_key_line(content, keys)
    best_depth, best_line = 0, None
    table: tuple[str, ...] = ()
    for number, line in enumerate(content.splitlines(), 1):
        header = HEADER.match(line)
        assign = None if header else ASSIGN.match(line)
        if header:
            table = split_keys(header[1])
            full, rest_text = table, ""
        elif assign:
            full, rest_text = table + split_keys(assign[1]), line[assign.end() :]
        else:
            continue
        if keys[: len(full)] != full:
            continue
        depth = len(full)
        for key in keys[depth:]:  # keys of inline tables on the same line
            if not re.search(rf"""(?:^|[{{,\s])["']?{re.escape(key)}["']?\s*=""", rest_text):
                break
            depth += 1
        if depth > best_depth:
            best_depth, best_line = depth, number
    return best_line


def split_keys(text: str) -> tuple[str, ...]:
    """``a."b.c".d`` → ``("a", "b.c", "d")``."""
    parts = []
    for match in re.finditer(KEY, text):
        token = match[0]
        if token.startswith('"'):
            token = json.loads(token)
        elif token.startswith("'"):
            token = token[1:-1]
        parts.append(token)
    return tuple(parts)


def json_key_line(content: str, keys: tuple[str, ...]) -> int | None:
    position, found = 0, None
    for key in keys:
        match = re.compile(rf"{re.escape(json.dumps(key))}\s*:").search(content, position)
        if match is None:
            break
        position, found = match.end(), match.start()
    return None if found is None else content.count("\n", 0, found) + 1
