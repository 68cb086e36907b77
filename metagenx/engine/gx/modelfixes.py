"""Fixes for model scripts written against older GenX model libraries.

* Keyword arguments GenX renamed in its model classes (GenX 3.7 reworked ``mag_refl``
  and ``interdiff``): ``model.Layer(mag=…)`` → ``model.Layer(magn=…)``, and the matching
  ``setMag``/``getMag`` methods in the script and the parameter grid. Old names do not
  exist in GenX 3.8, so renaming them never changes a script that runs.
* Choice values GenX renamed (``theory='neutron spin-pol'`` → ``probe='neutron pol'``)
  and, for GenX 2 files only, choices given as numbers (GenX 2 and 3 number them in a
  different order): ``restype=2`` → ``restype='full conv and varying res.'``.
* Model libraries GenX 3 no longer has: reported, not fixed.

The tables were made by comparing the model classes of GenX 2.4.10 with GenX 3.8.13.
"""

from __future__ import annotations

import ast
import tokenize

from metagenx.engine.gx.scriptedit import Edit, Token, significant
from metagenx.engine.gx.scriptimports import dotted_before, read_imports

KEYWORD_RENAMES: dict[str, dict[str, dict[str, str]]] = {
    "mag_refl": {
        "Instrument": {"theory": "probe", "incang": "incangle"},
        "Layer": {"mag": "magn", "phi_m": "magn_ang", "theta_m": "magn_theta", "sigma_c": "sigma"},
    },
    "interdiff": {"Layer": {"sigmar": "sigma"}},
}
"""Per model library and class: old keyword → GenX 3 keyword."""

VALUE_RENAMES: dict[tuple[str, str], dict[str, str]] = {
    ("mag_refl", "probe"): {
        "neutron spin-pol": "neutron pol",
        "neutron spin-flip": "neutron pol spin flip",
        "neutron spin-pol tof": "neutron pol tof",
        "x-ray iso.": "x-ray",
    },
}
"""Per library and (GenX 3) keyword: old choice text → GenX 3 choice text."""

SPEC_CHOICES = {
    "probe": ["x-ray", "neutron", "neutron pol", "neutron pol spin flip", "neutron tof", "neutron pol tof"],
    "coords": ["q", "tth"],
    "restype": [
        "no conv",
        "fast conv",
        "full conv and varying res.",
        "fast conv + varying res.",
        "full conv and varying res. (dx/x)",
        "fast conv + varying res. (dx/x)",
    ],
    "footype": ["no corr", "gauss beam", "square beam"],
    "pol": ["uu", "dd", "ud", "ass", "du"],
}
GENX2_CHOICES: dict[str, dict[str, list[str]]] = {
    "spec_nx": SPEC_CHOICES,
    "soft_nx": SPEC_CHOICES,
    "interdiff": {
        "coords": ["q", "tth"],
        "restype": ["no conv", "fast conv", "full conv and varying res.", "fast conv + varying res."],
        "footype": ["no corr", "gauss beam", "square beam"],
    },
    "mag_refl": {
        "coords": ["q", "tth"],
        "restype": ["no conv", "fast conv", "full conv and varying res.", "fast conv + varying res."],
        "footype": ["no corr", "gauss beam", "square beam"],
        "xpol": [
            "circ+",
            "circ-",
            "tot",
            "ass",
            "sigma",
            "pi",
            "sigma-sigma",
            "sigma-pi",
            "pi-pi",
            "pi-sigma",
        ],
        "npol": ["++", "--", "+-", "ass", "-+"],
        "theory": [
            "x-ray anis.",
            "x-ray simpl. anis.",
            "neutron spin-pol",
            "neutron spin-flip",
            "neutron spin-pol tof",
            "x-ray iso.",
        ],
    },
}
"""GenX 2's numbering of the instrument choices (``Instrument(restype=2)``), per library."""


def model_edits(tokens: list[Token], generation: int) -> tuple[list[Edit], dict[str, str], list[str]]:
    """Edits for renamed keywords, choices and methods.

    Also returns the method renames (for the parameter grid) and problems that no edit
    can fix (a model library GenX 3 does not have).
    """
    imports = read_imports(tokens)
    code = significant(tokens)
    edits: list[Edit] = []
    problems: list[str] = []
    method_renames: dict[str, str] = {}
    libraries = set(imports.modules.values()) | set(imports.bare.values()) | set(imports.stars)
    fixable = [library for library in imports.stars if library in KEYWORD_RENAMES or library in GENX2_CHOICES]
    star = fixable[0] if fixable else None
    for imported in libraries:
        for renames in KEYWORD_RENAMES.get(imported, {}).values():
            method_renames.update(setter_renames(renames))
    for index, token in enumerate(code):
        if token.type != tokenize.NAME or index + 1 >= len(code) or code[index + 1].string != "(":
            continue
        library: str | None
        if index and code[index - 1].string == ".":
            library = imports.modules.get(dotted_before(code, index))
        else:
            library = imports.bare.get(token.string, star)
        if library is not None:
            edits.extend(call_edits(code, index, library, token.string, generation))
            if generation == 2 and token.string == "Instrument":
                problems.extend(resolution_advice(code, index, library))
    for index, token in enumerate(code):
        if (
            token.type == tokenize.NAME
            and index
            and code[index - 1].string == "."
            and token.string in method_renames
        ):
            new = method_renames[token.string]
            note = f"script line {token.start[0]}: method {token.string} renamed {new} (GenX 3 name)"
            edits.append(Edit(token.start, token.end, new, note))
    problems.extend(
        f"script line {line}: GenX 3 has no model library models.{library}; the script cannot run until it "
        "uses another one"
        for line, library in imports.missing
    )
    return edits, method_renames, problems


def setter_renames(renames: dict[str, str]) -> dict[str, str]:
    """``{"mag": "magn"}`` → ``{"setMag": "setMagn", "getMag": "getMagn", …}`` as GenX names its methods."""
    methods: dict[str, str] = {}
    for old, new in renames.items():
        for prefix in ("set", "get"):
            for suffix in ("", "real", "imag"):
                methods[prefix + old.capitalize() + suffix] = prefix + new.capitalize() + suffix
    return methods


def call_edits(code: list[Token], index: int, library: str, cls: str, generation: int) -> list[Edit]:
    """Keyword and choice edits inside one call ``cls(...)`` of ``library``."""
    renames = KEYWORD_RENAMES.get(library, {}).get(cls, {})
    choices = GENX2_CHOICES.get(library, {}) if generation == 2 and cls == "Instrument" else {}
    edits: list[Edit] = []
    depth = 0
    for at in range(index + 1, len(code)):
        token = code[at]
        if token.string in ("(", "[", "{"):
            depth += 1
        elif token.string in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and is_keyword(code, at):
            keyword = token.string
            line = token.start[0]
            if keyword in renames:
                edits.append(
                    Edit(
                        token.start,
                        token.end,
                        renames[keyword],
                        f"script line {line}: {cls} keyword "
                        f"{keyword}= renamed {renames[keyword]}= (GenX 3 name)",
                    )
                )
            value = code[at + 2] if at + 3 < len(code) and code[at + 3].string in (",", ")") else None
            if value is not None:
                edits.extend(
                    value_edits(value, library, keyword, renames.get(keyword, keyword), choices, cls)
                )
    return edits


FULL_CONVOLUTION = ("full conv and varying res.", "full conv and varying res. (dx/x)")


def resolution_advice(code: list[Token], index: int, library: str) -> list[str]:
    """A note when a GenX 2 instrument convolves with a resolution vector, which GenX 3.0.1 widened.

    GenX 2 sampled the resolution at offsets up to ``resintrange*res*(respoints-1)/respoints``;
    GenX 3 samples up to ``resintrange*res``. Simulations differ slightly; for an odd
    ``respoints`` GenX 2's result is reproduced exactly by scaling ``resintrange``.
    """
    values = call_keywords(code, index)
    restype = literal(values.get("restype"))
    choices = GENX2_CHOICES.get(library, {}).get("restype", [])
    if isinstance(restype, int) and not isinstance(restype, bool) and 0 <= restype < len(choices):
        restype = choices[restype]
    if restype not in FULL_CONVOLUTION:
        return []
    line = code[index].start[0]
    points, span = literal(values.get("respoints")), literal(values.get("resintrange"))
    advice = ""
    if isinstance(points, int) and points % 2 == 1 and isinstance(span, int | float):
        advice = f"; resintrange={span * (points - 1) / points:g} reproduces GenX 2 exactly"
    return [
        f"script line {line}: GenX 3 samples the resolution ({restype!r}) over ±resintrange·res, GenX 2 over "
        f"±resintrange·res·(respoints−1)/respoints, so simulations differ slightly{advice}"
    ]


def call_keywords(code: list[Token], index: int) -> dict[str, Token | None]:
    """Keyword arguments of the call named by ``code[index]``, each with its value if that is one token."""
    keywords: dict[str, Token | None] = {}
    depth = 0
    for at in range(index + 1, len(code)):
        token = code[at]
        if token.string in ("(", "[", "{"):
            depth += 1
        elif token.string in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and is_keyword(code, at):
            single = at + 3 < len(code) and code[at + 3].string in (",", ")")
            keywords[token.string] = code[at + 2] if single else None
    return keywords


def literal(token: Token | None) -> object:
    """The value of a literal token (number or string), or ``None``."""
    if token is None or token.type not in (tokenize.NUMBER, tokenize.STRING):
        return None
    try:
        return ast.literal_eval(token.string)
    except (ValueError, SyntaxError):
        return None


def is_keyword(code: list[Token], at: int) -> bool:
    """``code[at]`` is the name of a keyword argument (``name=`` right after ``(`` or ``,``)."""
    return (
        code[at].type == tokenize.NAME
        and at + 1 < len(code)
        and code[at + 1].string == "="
        and code[at - 1].string in ("(", ",")
    )


def value_edits(
    value: Token, library: str, keyword: str, new_keyword: str, choices: dict[str, list[str]], cls: str
) -> list[Edit]:
    """A choice given as a GenX 2 number, or as a choice text GenX renamed."""
    line = value.start[0]
    text: str | None = None
    if value.type == tokenize.NUMBER and keyword in choices and value.string.isdigit():
        number = int(value.string)
        if number < len(choices[keyword]):
            text = choices[keyword][number]
    elif value.type == tokenize.STRING:
        try:
            literal = ast.literal_eval(value.string)
        except (ValueError, SyntaxError):
            literal = None
        text = literal if isinstance(literal, str) else None
    if text is None:
        return []
    renamed = VALUE_RENAMES.get((library, new_keyword), {}).get(text, text)
    if value.type == tokenize.STRING and renamed == text:
        return []
    return [
        Edit(
            value.start,
            value.end,
            repr(renamed),
            f"script line {line}: {cls} {keyword}={value.string} "
            f"rewritten as {new_keyword}={renamed!r} (GenX 2 meaning)",
        )
    ]
