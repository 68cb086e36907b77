"""Mend model scripts from older GenX so that they run under Python 3 and GenX 3.8.

Only mechanical fixes that keep what the script meant are made, and each is
reported as a note naming its script line:

* GenX 2 (Python 2) scripts: tab indentation expanded as Python 2 read it (a tab
  reaches the next multiple of 8 columns), then the Python 2 → 3 rewrites of
  :mod:`metagenx.engine.gx.py2fixes`;
* every script: renamed model-class keywords, choices and methods
  (:mod:`metagenx.engine.gx.modelfixes`) and names numpy removed (:mod:`metagenx.engine.gx.numpyfixes`).

What cannot be mended is reported as a note too ("script line 7: invalid syntax …");
the script is kept, and compiling it later raises an error naming that line.
"""

from __future__ import annotations

import tokenize
from dataclasses import dataclass, field

from metagenx.engine.gx.modelfixes import model_edits
from metagenx.engine.gx.numpyfixes import numpy_edits
from metagenx.engine.gx.py2fixes import python2_edits
from metagenx.engine.gx.scriptedit import apply_edits, line_list, tokenize_script


@dataclass(frozen=True)
class MendedScript:
    """A script after mending, notes on what changed, and method renames to apply to the parameter grid."""

    script: str
    notes: list[str] = field(default_factory=list)
    method_renames: dict[str, str] = field(default_factory=dict)


def mend_script(script: str, generation: int) -> MendedScript:
    """Apply the safe fixes for a script saved by GenX ``generation`` (2 or 3)."""
    notes: list[str] = []
    if generation == 2:
        script, tab_lines = expand_tabs(script)
        if tab_lines:
            notes.append(
                f"script lines {line_list(tab_lines)}: tab indentation expanded to spaces "
                "(8 columns per tab, as Python 2 read it)"
            )
    tokens = tokenize_script(script)
    renames: dict[str, str] = {}
    if tokens is not None:
        edits = python2_edits(script, tokens) if generation == 2 else []
        fixes, renames, problems = model_edits(tokens, generation)
        edits += fixes + numpy_edits(tokens)
        script, applied = apply_edits(script, edits)
        notes.extend(edit.note for edit in applied if edit.note)
        notes.extend(problems)
    problem = compile_problem(script)
    if problem:
        notes.append(problem)
    return MendedScript(script, notes, renames)


def expand_tabs(script: str) -> tuple[str, list[int]]:
    """Replace tabs in the indentation of code lines by spaces to the next multiple of 8 columns.

    Lines inside multi-line strings are left alone (their whitespace is data).
    Returns the script and the numbers of the lines changed.
    """
    lines = script.splitlines(keepends=True)
    inside = string_interior_lines(script)
    changed: list[int] = []
    for number, line in enumerate(lines, start=1):
        body = line.lstrip(" \t")
        indent = line[: len(line) - len(body)]
        if "\t" in indent and number not in inside:
            lines[number - 1] = indent.expandtabs(8) + body
            changed.append(number)
    return "".join(lines), changed


def string_interior_lines(script: str) -> set[int]:
    """Lines that begin inside a multi-line string literal."""
    tokens = tokenize_script(script)
    inside: set[int] = set()
    for token in tokens or []:
        if token.type == tokenize.STRING and token.end[0] > token.start[0]:
            inside.update(range(token.start[0] + 1, token.end[0] + 1))
    return inside


def compile_problem(script: str) -> str | None:
    """A note naming the line and reason when Python 3 cannot compile ``script``; ``None`` when it can."""
    try:
        compile(script, "<model script>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 0
        lines = script.splitlines()
        source = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        shown = f" ({source})" if source else ""
        return f"script line {line}: {exc.msg}{shown}; the script will not run until this line is fixed"
    except ValueError as exc:  # e.g. a NUL character
        return f"the script cannot be compiled: {exc}"
    return None


def rename_grid_names(names: list[str], renames: dict[str, str]) -> tuple[list[str], list[str]]:
    """Apply method renames to grid names (``Fe.setMag`` → ``Fe.setMagn``); returns names and notes."""
    result: list[str] = []
    notes: list[str] = []
    for row, name in enumerate(names):
        owner, dot, method = name.rpartition(".")
        if dot and method in renames:
            new = f"{owner}.{renames[method]}"
            notes.append(f"parameter grid row {row}: {name} renamed {new} (GenX 3 name)")
            name = new
        result.append(name)
    return result, notes
