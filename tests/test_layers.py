"""The import graph: classifier ← training ← service, one way, and no cycle between modules (imports
inside functions included), so each package can be read, tested and shipped without the ones above."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("classifier", "training", "service")  # each may import only those before it


def _graph() -> dict[str, set[str]]:
    modules = {
        f"{package}.{path.stem}": path for package in LAYERS for path in sorted((ROOT / package).glob("*.py"))
    }
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        graph[name] = (imported & modules.keys()) - {name}
    return graph


def test_packages_import_only_the_layers_below() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if LAYERS.index(target.split(".")[0]) > LAYERS.index(module.split(".")[0])
    ]
    assert not upward


def test_no_module_imports_itself_back() -> None:
    try:
        tuple(TopologicalSorter(_graph()).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' → '.join(exc.args[1])}") from exc
