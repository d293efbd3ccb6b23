"""The two import cycles the Session removed stay removed, in-function imports included:
cli <-> profiles <-> yardstick.commands, and inventory <-> inventory_formats <-> yardstick.pod.
(The general layering check in lint is a separate piece of work.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ha_tests"


def import_graph() -> dict[str, set[str]]:
    """Module -> the ha_tests modules it imports anywhere in its body (functions too)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            graph[name].update(f for f in found if f in modules and f != name)
    return graph


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name == goal:
            return True
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name])
    return False


@pytest.mark.parametrize("module, via", [
    ("ha_tests.cli", "ha_tests.profiles"),
    ("ha_tests.cli", "ha_tests.yardstick.commands"),
    ("ha_tests.inventory", "ha_tests.inventory_formats"),
    ("ha_tests.inventory", "ha_tests.yardstick.pod"),
])
def test_no_cycle_through(module, via):
    graph = import_graph()
    assert not (reaches(graph, module, via) and reaches(graph, via, module)), \
        f"{module} and {via} import each other (directly or through others)"


def test_library_helpers_left_the_cli():
    graph = import_graph()
    importers = sorted(name for name, imported in graph.items() if "ha_tests.cli" in imported)
    assert importers == [], f"only the command line may import ha_tests.cli: {importers}"
