"""The import graph: classifier ← training ← service, one way, and no cycle between modules (imports
inside functions included), so each package can be read, tested and shipped without the ones above."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("classifier", "training", "service")  # each may import only those before it
# inside service: the HTTP API and the command line sit on top; the roles below them never reach up
SERVICE_TOP = ("service.api", "service.cli", "service.docs")


def _name(path: Path) -> str:
    """``service/api/app.py`` -> ``service.api.app``; a package's ``__init__.py`` is the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_name(path): path for package in LAYERS for path in sorted((ROOT / package).rglob("*.py"))}
    modules = {name: path for name, path in modules.items() if ".migrations" not in name}  # Alembic's scripts
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


def test_service_roles_do_not_import_the_api_or_the_cli() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if module.startswith("service.") and not module.startswith(SERVICE_TOP)
        for target in targets
        if target.startswith(SERVICE_TOP)
    ]
    assert not upward
