"""The docs match the code: the generated reference is current, every setting is described, the
prose names only settings that exist, and every relative link (and its anchor) resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from classifier.flags import env_name
from service.docs import SECTIONS, render

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TEST_ONLY = {"CLICKBAIT_TEST_POSTGRES_URL", "CLICKBAIT_TEST_API_EXAMPLES"}  # read by tests, not the product


def _settings() -> set[str]:
    """Every environment variable a setting reads (a nested group, such as ``retrain``, is not one)."""
    return {
        env_name(model, name)
        for _, model, _, _ in SECTIONS
        for name, field in model.model_fields.items()
        if env_name(model, name) is not None
        and not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel))
    }


def test_reference_is_current() -> None:
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert render() == committed, "docs/reference.md is stale: run `python -m service.docs`"


def test_settings_are_documented() -> None:
    undescribed = [
        f"{model.__name__}.{name}"
        for _, model, _, _ in SECTIONS
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert not undescribed
    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert all(f"`{variable}`" in reference for variable in _settings())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_name_only_settings_that_exist(page: Path) -> None:
    known = _settings() | TEST_ONLY
    named = set(re.findall(r"CLICKBAIT_[A-Z0-9_]*[A-Z0-9_]", page.read_text(encoding="utf-8")))
    unknown = {
        name
        for name in named
        if name not in known and not (name.endswith("_") and any(k.startswith(name) for k in known))
    }
    assert not unknown


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for heading in re.findall(r"(?m)^#+ (.+)$", page.read_text(encoding="utf-8")):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"(?s)```.*?```", "", page.read_text(encoding="utf-8"))
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(target)
    assert not broken
