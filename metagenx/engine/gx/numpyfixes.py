"""Names numpy removed (numpy 1.24 and 2.0) that old model scripts use: ``Inf``, ``np.float``…

Renamed where the script takes them from numpy (``np.Inf``, or ``Inf`` after
``from numpy import *`` when the script does not define that name itself).
"""

from __future__ import annotations

import tokenize

from metagenx.engine.gx.scriptedit import Edit, Token, assigned_names, significant
from metagenx.engine.gx.scriptimports import dotted_before, read_imports

NUMPY_RENAMES = {
    "Inf": "inf",
    "Infinity": "inf",
    "infty": "inf",
    "PINF": "inf",
    "NaN": "nan",
    "NAN": "nan",
    "float_": "float64",
    "complex_": "complex128",
    "product": "prod",
    "cumproduct": "cumprod",
    "alltrue": "all",
    "sometrue": "any",
    "round_": "round",
    "string_": "bytes_",
    "unicode_": "str_",
}
"""numpy names removed in numpy 2 → the name that remains."""

NUMPY_BUILTIN_ALIASES = {
    "float": "float",
    "int": "int",
    "bool": "bool",
    "complex": "complex",
    "object": "object",
    "str": "str",
    "long": "int",
    "unicode": "str",
}
"""``numpy.float`` and friends (removed in numpy 1.24) → the Python builtin they were."""


def numpy_edits(tokens: list[Token]) -> list[Edit]:
    """Names numpy 2 removed, as ``np.Inf`` (any numpy alias) or bare after ``from numpy import *``."""
    imports = read_imports(tokens)
    own = assigned_names(tokens)
    code = significant(tokens)
    edits: list[Edit] = []
    for index, token in enumerate(code):
        if token.type != tokenize.NAME:
            continue
        line = token.start[0]
        after_dot = index > 0 and code[index - 1].string == "."
        owner = dotted_before(code, index) if after_dot else ""
        if after_dot and owner in imports.numpy_aliases:
            if token.string in NUMPY_RENAMES:
                new = NUMPY_RENAMES[token.string]
                edits.append(
                    Edit(
                        token.start,
                        token.end,
                        new,
                        f"script line {line}: {owner}.{token.string} "
                        f"(removed in numpy 2) rewritten as {owner}.{new}",
                    )
                )
            elif token.string in NUMPY_BUILTIN_ALIASES:
                new = NUMPY_BUILTIN_ALIASES[token.string]
                start = code[index - 1 - 2 * owner.count(".") - 1].start
                edits.append(
                    Edit(
                        start,
                        token.end,
                        new,
                        f"script line {line}: {owner}.{token.string} (removed from numpy) rewritten as {new}",
                    )
                )
        elif (
            not after_dot and imports.numpy_star and token.string in NUMPY_RENAMES and token.string not in own
        ):
            new = NUMPY_RENAMES[token.string]
            edits.append(
                Edit(
                    token.start,
                    token.end,
                    new,
                    f"script line {line}: numpy's {token.string} (removed in numpy 2) rewritten as {new}",
                )
            )
    return edits
