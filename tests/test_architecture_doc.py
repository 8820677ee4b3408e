"""docs/design/architecture.md stays true of the code: every path it names exists, every module of
the three packages is named, every class (and class member) it names is defined, and the modules it
says import ``training`` from ``service`` are exactly those that do. A new module fails here until
the page gives it a row."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "design" / "architecture.md"
PACKAGES = ("classifier", "training", "service")
TOP = (*PACKAGES, "tests", "docs", "benchmarks")
# Alembic's revision scripts are named by their folder; a package's __init__ by the package
REVISIONS = "service/store/migrations/versions/"
CLASS = re.compile(r"([A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)(?:\.([a-z_][a-z0-9_]*))?")
MODULE_NAME = re.compile(r"([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)")  # ``deps.json_body``
TRAINING_IMPORTERS = "import `training`, and no"  # the sentence that lists them


def _code_spans() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    return re.findall(r"`([^`\n]+)`", text)


def _paths() -> list[str]:
    return [
        span for span in _code_spans() if span.endswith(".py") or span.startswith(tuple(f"{t}/" for t in TOP))
    ]


def _modules() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if path.name != "__init__.py" and not name.startswith(REVISIONS):
                found.add(name)
    return found


@cache
def _classes() -> dict[str, set[str]]:
    """Every class (and module-level alias such as ``SettingsDep``) of the packages, with the names
    its body defines: methods, fields, properties."""
    found: dict[str, set[str]] = {}
    for name in _modules():
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                found.setdefault(node.name, set()).update(_members(node))
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found.update({t.id: found.get(t.id, set()) for t in targets if isinstance(t, ast.Name)})
    return found


@cache
def _module_names() -> dict[str, set[str]]:
    """The names each module defines at its top level, by the module's file stem (``deps``)."""
    found: dict[str, set[str]] = {}
    for name in _modules():
        tree = ast.parse((ROOT / name).read_text(encoding="utf-8"))
        found.setdefault(Path(name).stem, set()).update(_members(tree))
    return found


def _members(node: ast.ClassDef | ast.Module) -> set[str]:
    members = set()
    for item in node.body:
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
            members.add(item.name)
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            members.add(item.target.id)
        elif isinstance(item, ast.Assign):
            members.update(t.id for t in item.targets if isinstance(t, ast.Name))
    return members


def _imports_training(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "training"
        ):
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "training" for a in node.names):
            return True
    return False


def test_every_path_named_exists_and_is_written_from_the_root() -> None:
    missing = [path for path in _paths() if not (ROOT / path).exists()]
    bare = [path for path in _paths() if not path.startswith(tuple(f"{t}/" for t in TOP))]
    assert not missing, f"named in {PAGE.name} but absent: {missing}"
    assert not bare, f"write these from the repository root (classifier/..., service/...): {bare}"


def test_every_module_is_named() -> None:
    unnamed = sorted(_modules() - set(_paths()))
    assert not unnamed, (
        f"modules {PAGE.name} does not name (give each a place in 'Modules by role'): {unnamed}"
    )
    assert REVISIONS in _paths()


def test_every_class_named_is_defined_with_its_members() -> None:
    classes, wrong = _classes(), []
    for span in _code_spans():
        match = CLASS.fullmatch(span)
        if match is None:
            continue
        name, member = match.groups()
        if name not in classes or (member and member not in classes[name]):
            wrong.append(span)
    assert not wrong, f"named in {PAGE.name} but not defined so in the code: {wrong}"


def test_every_module_attribute_named_is_defined() -> None:
    modules = _module_names()
    wrong = [
        span
        for span in _code_spans()
        if (match := MODULE_NAME.fullmatch(span)) and match[2] not in modules.get(match[1], set())
    ]
    assert not wrong, f"named in {PAGE.name} but not defined in that module: {wrong}"


def test_the_modules_said_to_import_training_are_those_that_do() -> None:
    paragraph = next(p for p in PAGE.read_text(encoding="utf-8").split("\n\n") if TRAINING_IMPORTERS in p)
    spans = re.findall(r"`([^`]+)`", paragraph)
    said = {span for span in spans if span.startswith("service/") and span.endswith(".py")}
    actual = {name for name in _modules() if name.startswith("service/") and _imports_training(ROOT / name)}
    assert said == actual
