"""The package import graph: no cycles, and no package imports one from a higher layer.

Reads every module's source (module-level and function-level imports alike, including those
under ``TYPE_CHECKING``) and reduces it to a graph between the packages of ``metagenx``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import metagenx

ROOT = Path(metagenx.__file__).parent

# Lowest layer first; a package may import from its own layer or any layer below.
LAYERS: list[set[str]] = [
    {"errors", "version"},
    {"engine"},
    {"jobs", "events", "outputs"},
    {"runner", "sandbox"},
    {"executors"},
    {"store"},
    {"controller"},
    {"solve", "study", "watch", "client", "untrusted", "examples"},
    {"server", "web"},
    {"api", "cli", "__init__", "__main__"},
]


def package_of(module: str) -> str | None:
    """``metagenx.engine.gx.loader`` → ``engine``; None for modules outside metagenx."""
    parts = module.split(".")
    if parts[0] != "metagenx":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every metagenx module ``path`` imports, wherever in the file the import stands."""
    return imports_in(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, here: str, *, is_package: bool) -> set[str]:
    """The metagenx modules (and possible submodules) that ``source``, module ``here``, imports."""
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                drop = node.level - 1 if is_package else node.level
                base = base[: len(base) - drop] if drop else base
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m.startswith("metagenx")}


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package → imported package → the modules that import it (for the failure message)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(ROOT.rglob("*.py")):
        source = package_of(module_name(path))
        assert source is not None
        for target in imported_modules(path):
            target_package = package_of(target)
            if target_package and target_package != source:
                graph[source][target_package].append(module_name(path))
    return graph


def layer_of(package: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package in layer:
            return index
    raise AssertionError(f"package metagenx.{package} has no layer in tests/test_layers.py")


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle of packages (first package repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_package_has_a_layer() -> None:
    packages = {package_of(module_name(p)) for p in ROOT.rglob("*.py")}
    for package in packages:
        assert package is not None
        layer_of(package)


def test_no_import_cycle_between_packages() -> None:
    cycle = find_cycle(package_graph())
    assert cycle is None, "import cycle between packages: " + " → ".join(cycle or [])


def test_no_package_imports_a_higher_layer() -> None:
    upward = [
        f"{source} → {target} (in {', '.join(sorted(set(modules)))})"
        for source, targets in package_graph().items()
        for target, modules in targets.items()
        if layer_of(target) > layer_of(source)
    ]
    assert not upward, "imports that reach up a layer:\n" + "\n".join(upward)


def test_the_checker_sees_a_cycle_and_an_upward_import() -> None:
    """The checks can fail: a planted engine → server import is both a cycle and upward."""
    graph = package_graph()
    graph["engine"]["server"].append("metagenx.engine.planted")
    assert find_cycle(graph) is not None
    assert layer_of("server") > layer_of("engine")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from . import x", {"metagenx.engine", "metagenx.engine.x"}),
        ("from ..store import keys", {"metagenx.store", "metagenx.store.keys"}),
        ("import metagenx.solve.tune as t", {"metagenx.solve.tune"}),
        ("def f():\n    from metagenx.server import app\n", {"metagenx.server", "metagenx.server.app"}),
        ("import json", set()),
    ],
)
def test_imports_are_resolved(source: str, expected: set[str]) -> None:
    assert imports_in(source, "metagenx.engine.fit", is_package=False) == expected


def test_relative_imports_in_a_package_init() -> None:
    assert imports_in("from .fit import x", "metagenx.engine", is_package=True) >= {"metagenx.engine.fit"}


# -- the controller is the job store's only writer ---------------------------------------
STORE_WRITERS = {
    "add_artifact",
    "add_jobs",
    "cancel",
    "claim_next",
    "ensure_project",
    "ensure_study",
    "fail",
    "finish",
    "finish_with",
    "record_event",
    "record_progress",
    "release",
    "requeue_running",
    "retry",
}
"""The store functions that change projects, studies, jobs, events or artifacts."""
SESSION_WRITES = {"add", "add_all", "delete", "merge"}
MAY_WRITE = ("metagenx.store", "metagenx.controller")


def store_writes_in(source: str) -> list[str]:
    """What in ``source`` writes the job store: store writers it imports, sessions it adds to or
    deletes from."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("metagenx.store"):
            found += [f"imports {a.name}" for a in node.names if a.name in STORE_WRITERS]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_WRITES
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
        ):
            found.append(f"calls session.{node.func.attr}")
    return found


def test_only_the_controller_writes_the_job_store() -> None:
    writers = [
        f"{module_name(path)} {what}"
        for path in sorted(ROOT.rglob("*.py"))
        if not module_name(path).startswith(MAY_WRITE)
        for what in store_writes_in(path.read_text())
    ]
    assert not writers, "store writes outside the controller:\n" + "\n".join(writers)


def test_the_writer_check_sees_a_write() -> None:
    planted = "from metagenx.store import add_jobs, Job\n\ndef f(session):\n    session.delete(1)\n"
    assert store_writes_in(planted) == ["imports add_jobs", "calls session.delete"]
