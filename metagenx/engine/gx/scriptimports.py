"""What a model script imports: GenX model libraries (by alias) and numpy, read from its tokens."""

from __future__ import annotations

import importlib.util
import tokenize
from dataclasses import dataclass, field

from metagenx.engine.gx.scriptedit import Token, statements


@dataclass
class Imports:
    """What the script imports: model libraries by alias, and numpy."""

    modules: dict[str, str] = field(default_factory=dict)
    """Dotted alias as written in the script (``model``, ``models.mag_refl``) → library (``mag_refl``)."""
    bare: dict[str, str] = field(default_factory=dict)
    """Names imported bare (``from models.mag_refl import Layer``) → library."""
    stars: list[str] = field(default_factory=list)
    """Libraries imported with ``from models.X import *``."""
    numpy_aliases: set[str] = field(default_factory=set)
    numpy_star: bool = False
    missing: list[tuple[int, str]] = field(default_factory=list)
    """(line, library) of model libraries GenX 3 does not have."""


def library_of(dotted: str) -> str | None:
    """``models.mag_refl`` or ``genx.models.mag_refl`` → ``mag_refl``."""
    parts = dotted.split(".")
    if parts[:1] == ["genx"]:
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == "models":
        return parts[1]
    return None


def read_imports(tokens: list[Token]) -> Imports:
    """The model libraries and numpy aliases the script imports (read from its tokens, not run)."""
    found = Imports()
    for statement in statements(tokens):
        words = [t.string for t in statement]
        line = statement[0].start[0]
        if words[0] == "import":
            for part in " ".join(words[1:]).replace(" . ", ".").split(" , "):
                pieces = part.split(" as ")
                dotted, alias = pieces[0].strip(), pieces[-1].strip()
                note_library(found, dotted, alias, line)
        elif words[0] == "from" and "import" in words:
            at = words.index("import")
            dotted = "".join(words[1:at])
            names = [w for w in words[at + 1 :] if w not in (",", "(", ")")]
            if dotted == "numpy" and "*" in names:
                found.numpy_star = True
            library = library_of(dotted)
            if library is not None:
                check_library(found, library, line)
                for name in names:
                    if name == "*":
                        found.stars.append(library)
                    elif name != "as":
                        found.bare[name] = library
            elif dotted in ("models", "genx.models"):
                for index, name in enumerate(names):
                    if name != "as" and (index == 0 or names[index - 1] != "as"):
                        alias = (
                            names[index + 2] if index + 2 < len(names) and names[index + 1] == "as" else name
                        )
                        note_library(found, f"models.{name}", alias, line)
    return found


def note_library(found: Imports, dotted: str, alias: str, line: int) -> None:
    if dotted == "numpy":
        found.numpy_aliases.add(alias)
        return
    library = library_of(dotted)
    if library is not None:
        check_library(found, library, line)
        found.modules[alias] = library


def check_library(found: Imports, library: str, line: int) -> None:
    if library == "lib" or not library.isidentifier():
        return
    if importlib.util.find_spec(f"genx.models.{library}") is None:
        found.missing.append((line, library))


def dotted_before(code: list[Token], index: int) -> str:
    """The dotted name that ends just before ``code[index]`` (which follows a ``.``)."""
    parts: list[str] = []
    at = index - 1
    while at >= 1 and code[at].string == "." and code[at - 1].type == tokenize.NAME:
        parts.insert(0, code[at - 1].string)
        at -= 2
    return ".".join(parts)
