"""Mechanical Python 2 → 3 fixes for GenX 2 model scripts.

Each fixer keeps the meaning the line had under Python 2 and returns one
:class:`~metagenx.engine.gx.scriptedit.Edit` per change, with a note for the user:

* ``print x, y`` → ``print(x, y)`` (also ``print >>f, x`` and a trailing comma),
* ``except E, e:`` → ``except E as e:``; ``raise E, "text"`` → ``raise E("text")``,
* ``a <> b`` → ``a != b``; ``10L`` → ``10``; ``0777`` → ``0o777``,
* ``7/2`` between two integer literals → ``7//2`` (Python 2 divided integers to an integer),
* ``xrange``, ``unicode``, ``basestring``, ``long`` → their Python 3 names (unless the
  script defines a name of its own so), ``d.iteritems()`` → ``d.items()`` and the like,
* imports of renamed standard modules (``cPickle`` → ``pickle`` keeping the name bound).

Only used for GenX 2 files: in a Python 3 script, ``7/2`` already means 3.5.
"""

from __future__ import annotations

import re
import tokenize

from metagenx.engine.gx.scriptedit import (
    Edit,
    Token,
    assigned_names,
    significant,
    source_between,
    statements,
    top_level,
)

RENAMED_BUILTINS = {"xrange": "range", "unicode": "str", "basestring": "str", "long": "int"}
RENAMED_METHODS = {"iteritems": "items", "itervalues": "values", "iterkeys": "keys"}
RENAMED_MODULES = {
    "cPickle": "pickle",
    "cStringIO": "io",
    "StringIO": "io",
    "Queue": "queue",
    "ConfigParser": "configparser",
    "__builtin__": "builtins",
    "copy_reg": "copyreg",
}


def python2_edits(source: str, tokens: list[Token]) -> list[Edit]:
    """Every Python 2 → 3 edit for ``source``, given its tokens."""
    future = future_imports(tokens)
    edits: list[Edit] = []
    for statement in statements(tokens):
        first = statement[0]
        if first.type != tokenize.NAME:
            continue
        if first.string == "print" and "print_function" not in future:
            edits.extend(print_edit(source, statement))
        elif first.string == "except":
            edits.extend(except_edit(statement))
        elif first.string == "raise":
            edits.extend(raise_edit(statement))
        elif first.string in ("import", "from"):
            edits.extend(import_edits(statement))
    edits.extend(operator_edits(tokens, divide="division" not in future))
    edits.extend(name_edits(tokens))
    return edits


def future_imports(tokens: list[Token]) -> set[str]:
    names: set[str] = set()
    for statement in statements(tokens):
        words = [t.string for t in statement]
        if words[:3] == ["from", "__future__", "import"]:
            names.update(w for w in words[3:] if w.isidentifier())
    return names


def print_edit(source: str, statement: list[Token]) -> list[Edit]:
    """``print a, b,`` → ``print(a, b, end=" ")``, in small edits so that fixes inside the arguments apply."""
    head = statement[0]
    rest = statement[1:]
    note = f"script line {head.start[0]}: print statement rewritten as print()"
    if not rest:
        return [Edit(head.start, head.end, "print()", note)]
    if rest[0].string in ("(", "=", ".", ","):
        return []  # already a call (or print used as a name)
    edits = [Edit(head.start, rest[0].start, "print(", note)]
    extras: list[str] = []
    args = rest
    if rest[0].string == ">>":
        commas = top_level(rest, ",")
        stream_end = rest[commas[0] - 1].end if commas else rest[-1].end
        extras.append(f"file={source_between(source, rest[1].start, stream_end)}")
        args = rest[commas[0] + 1 :] if commas else []
        edits.append(Edit(rest[0].start, args[0].start if args else stream_end, "", ""))
    if args and args[-1].string == "," and top_level(args, ",")[-1:] == [len(args) - 1]:
        edits.append(Edit(args[-1].start, args[-1].end, "", ""))
        args = args[:-1]
        extras.insert(0, 'end=" "')
    closing = ", ".join(extras)
    if args and closing:
        closing = ", " + closing
    edits.append(Edit(statement[-1].end, statement[-1].end, closing + ")", ""))
    return edits


def except_edit(statement: list[Token]) -> list[Edit]:
    commas = top_level(statement, ",")
    if len(commas) != 1 or statement[-1].string != ":":
        return []
    comma = statement[commas[0]]
    name = statement[commas[0] + 1 : -1]
    if len(name) != 1 or name[0].type != tokenize.NAME:
        return []
    line = comma.start[0]
    return [
        Edit(
            comma.start,
            name[0].start,
            " as ",
            f"script line {line}: 'except E, e:' rewritten as 'except E as e:'",
        )
    ]


def raise_edit(statement: list[Token]) -> list[Edit]:
    """``raise E, message`` → ``raise E(message)`` (the three-argument form is left for the compile check)."""
    commas = top_level(statement, ",")
    if len(commas) != 1 or commas[0] < 2 or commas[0] == len(statement) - 1:
        return []
    comma, message = statement[commas[0]], statement[commas[0] + 1]
    note = f"script line {comma.start[0]}: 'raise E, message' rewritten as 'raise E(message)'"
    return [Edit(comma.start, message.start, "(", note), Edit(statement[-1].end, statement[-1].end, ")", "")]


def import_edits(statement: list[Token]) -> list[Edit]:
    """Renamed standard modules: ``import cPickle`` → ``import pickle as cPickle``, and ``from`` forms."""
    edits: list[Edit] = []
    words = [t.string for t in statement]
    if words[0] == "from":
        module = statement[1]
        if len(words) > 2 and words[2] == "import" and module.string in RENAMED_MODULES:
            new = RENAMED_MODULES[module.string]
            edits.append(Edit(module.start, module.end, new, module_note(module, new)))
        return edits
    for index, token in enumerate(statement[1:], start=1):
        if token.type != tokenize.NAME or token.string not in RENAMED_MODULES:
            continue
        before = words[index - 1]
        after = words[index + 1] if index + 1 < len(words) else ","
        if before not in ("import", ",") or after not in (",", "as"):
            continue
        new = RENAMED_MODULES[token.string]
        text = new if after == "as" else f"{new} as {token.string}"
        edits.append(Edit(token.start, token.end, text, module_note(token, new)))
    return edits


def module_note(token: Token, new: str) -> str:
    return f"script line {token.start[0]}: Python 2 module {token.string} imported as {new}"


INTEGER = re.compile(r"[1-9][0-9]*|0+")


def operator_edits(tokens: list[Token], divide: bool) -> list[Edit]:
    """``<>``, long and octal literals, and integer-literal division."""
    edits: list[Edit] = []
    code = significant(tokens)
    for index, token in enumerate(code):
        after = code[index + 1] if index + 1 < len(code) else None
        line = token.start[0]
        if token.string == "<" and after is not None and after.string == ">" and after.start == token.end:
            edits.append(Edit(token.start, after.end, "!=", f"script line {line}: '<>' rewritten as '!='"))
        elif token.type == tokenize.NUMBER and after is not None and after.start == token.end:
            if after.type == tokenize.NAME and after.string in ("L", "l") and INTEGER.fullmatch(token.string):
                edits.append(
                    Edit(
                        after.start,
                        after.end,
                        "",
                        f"script line {line}: long literal {token.string}L rewritten as {token.string}",
                    )
                )
            elif re.fullmatch(r"0+", token.string) and re.fullmatch(r"[0-7]+", after.string):
                edits.append(
                    Edit(
                        token.start,
                        after.end,
                        f"0o{after.string}",
                        f"script line {line}: octal literal 0{after.string} rewritten as 0o{after.string}",
                    )
                )
        elif divide and token.string == "/" and integer_division(code, index):
            edits.append(
                Edit(
                    token.start,
                    token.end,
                    "//",
                    f"script line {line}: integer division "
                    f"{code[index - 1].string}/{code[index + 1].string} rewritten as "
                    f"{code[index - 1].string}//{code[index + 1].string} (Python 2 gave an integer)",
                )
            )
    return edits


def integer_division(code: list[Token], index: int) -> bool:
    """``int / int`` where both operands are integer literals standing alone (no ``**``, ``*``, call…)."""
    if index < 1 or index + 1 >= len(code):
        return False
    left, right = code[index - 1], code[index + 1]
    if not (is_int(left) and is_int(right)):
        return False
    before = code[index - 2].string if index >= 2 else ""
    after = code[index + 2].string if index + 2 < len(code) else ""
    if before in ("*", "/", "//", "%", "**", ".", "@") or code[index - 2].type == tokenize.NUMBER:
        return False
    return after not in ("**", ".", "(", "[", "j", "J", "L", "l") and not (
        index + 2 < len(code) and code[index + 2].start == right.end and code[index + 2].type == tokenize.NAME
    )


def is_int(token: Token) -> bool:
    return token.type == tokenize.NUMBER and INTEGER.fullmatch(token.string) is not None


def name_edits(tokens: list[Token]) -> list[Edit]:
    """Renamed builtins (unless the script binds the name itself) and dict iteration methods."""
    edits: list[Edit] = []
    own = assigned_names(tokens)
    code = significant(tokens)
    for index, token in enumerate(code):
        if token.type != tokenize.NAME:
            continue
        before = code[index - 1].string if index else ""
        line = token.start[0]
        if token.string in RENAMED_BUILTINS and before != "." and token.string not in own:
            new = RENAMED_BUILTINS[token.string]
            edits.append(
                Edit(token.start, token.end, new, f"script line {line}: {token.string} rewritten as {new}")
            )
        elif before == "." and token.string in RENAMED_METHODS:
            new = RENAMED_METHODS[token.string]
            edits.append(
                Edit(
                    token.start,
                    token.end,
                    new,
                    f"script line {line}: .{token.string}() rewritten as .{new}()",
                )
            )
    return edits
