"""Token-level editing of model scripts: find spots with :mod:`tokenize`, replace exact source spans.

Fixers (:mod:`metagenx.engine.gx.py2fixes`, :mod:`metagenx.engine.gx.modelfixes`) read a token list
and return :class:`Edit` objects; :func:`apply_edits` applies them from the end of
the script so that positions stay valid. Tokenizing never runs the script.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

Token = tokenize.TokenInfo
Position = tuple[int, int]
"""(line, column) as :mod:`tokenize` counts: lines from 1, columns from 0."""

STATEMENT_STARTERS = frozenset({tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL})


@dataclass(frozen=True)
class Edit:
    """Replace the source from ``start`` to ``end`` by ``text``.

    ``note`` says what and why, for the user; it is empty for the further pieces of a
    change that is made of several edits.
    """

    start: Position
    end: Position
    text: str
    note: str


def tokenize_script(source: str) -> list[Token] | None:
    """All tokens of ``source``, or ``None`` when Python's tokenizer gives up on it."""
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def significant(tokens: list[Token]) -> list[Token]:
    """Tokens without comments and non-logical line breaks."""
    return [t for t in tokens if t.type not in (tokenize.COMMENT, tokenize.NL)]


def apply_edits(source: str, edits: list[Edit]) -> tuple[str, list[Edit]]:
    """Apply non-overlapping edits; returns the new source and the edits applied, in source order.

    An edit overlapping one before it (in source order) is skipped.
    """
    starts = line_offsets(source)
    spans: list[tuple[int, int, Edit]] = []
    last_end = -1
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        begin = starts[edit.start[0] - 1] + edit.start[1]
        end = starts[edit.end[0] - 1] + edit.end[1]
        if begin < last_end:
            continue
        spans.append((begin, end, edit))
        last_end = end
    for begin, end, edit in reversed(spans):
        source = source[:begin] + edit.text + source[end:]
    return source, [edit for _, _, edit in spans]


def line_offsets(source: str) -> list[int]:
    """Offset of the first character of each line (1-based lines at index line - 1), plus one past the end."""
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    return offsets


def source_between(source: str, start: Position, end: Position) -> str:
    starts = line_offsets(source)
    return source[starts[start[0] - 1] + start[1] : starts[end[0] - 1] + end[1]]


def statements(tokens: list[Token]) -> Iterator[list[Token]]:
    """Simple statements as token lists (split at NEWLINE, at ``;`` and after a compound header's ``:``).

    A compound header such as ``if x: print y`` yields ``if x:`` and ``print y``.
    Comments and non-logical line breaks are left out.
    """
    current: list[Token] = []
    depth = 0
    for token in significant(tokens):
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or (token.string == ";" and depth == 0):
            if current:
                yield current
            current = []
            continue
        if token.type in (tokenize.INDENT, tokenize.DEDENT):
            continue
        current.append(token)
        if token.type == tokenize.OP:
            if token.string in "([{":
                depth += 1
            elif token.string in ")]}":
                depth = max(depth - 1, 0)
            elif token.string == ":" and depth == 0 and is_compound_header(current):
                yield current
                current = []
    if current:
        yield current


COMPOUND_KEYWORDS = frozenset(
    {"if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class"}
)


def is_compound_header(statement: list[Token]) -> bool:
    first = statement[0]
    return first.type == tokenize.NAME and first.string in COMPOUND_KEYWORDS and not has_lambda(statement)


def has_lambda(statement: list[Token]) -> bool:
    return any(t.type == tokenize.NAME and t.string == "lambda" for t in statement)


def top_level(statement: list[Token], string: str) -> list[int]:
    """Indexes of operator tokens ``string`` outside any bracket."""
    found: list[int] = []
    depth = 0
    for index, token in enumerate(statement):
        if token.type != tokenize.OP:
            continue
        if token.string in "([{":
            depth += 1
        elif token.string in ")]}":
            depth -= 1
        elif token.string == string and depth == 0:
            found.append(index)
    return found


def assigned_names(tokens: list[Token]) -> set[str]:
    """Names the script binds itself (assignment, ``def``, ``class``, ``import … as``, ``for``, arguments)."""
    names: set[str] = set()
    code = significant(tokens)
    for index, token in enumerate(code):
        if token.type != tokenize.NAME:
            continue
        before = code[index - 1].string if index else ""
        after = code[index + 1].string if index + 1 < len(code) else ""
        if before in ("def", "class", "as", "for", "import", "global") or after in (
            "=",
            "+=",
            "-=",
            "*=",
            "/=",
        ):
            names.add(token.string)
    return names


def line_list(lines: list[int], limit: int = 12) -> str:
    """``3, 5, 9`` or ``3, 5, 9, … (40 lines)`` for a note."""
    unique = sorted(set(lines))
    shown = ", ".join(str(n) for n in unique[:limit])
    return shown if len(unique) <= limit else f"{shown}, … ({len(unique)} lines)"
