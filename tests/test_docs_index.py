"""docs/README.md, the index of the documentation, links every page: each guide, each design note
and each dated results page (a new results page fails here until the index names it)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_index_links_every_page() -> None:
    index = DOCS / "README.md"
    linked = {
        (index.parent / target).resolve()
        for target in re.findall(r"\]\(([^)#\s]+)", index.read_text(encoding="utf-8"))
        if not target.startswith(("http://", "https://"))
    }
    pages = {
        page.resolve() for folder in (DOCS, DOCS / "design", DOCS / "results") for page in folder.glob("*.md")
    }
    unlinked = sorted(str(page.relative_to(DOCS)) for page in pages - linked - {index.resolve()})
    assert not unlinked, f"pages docs/README.md does not link: {unlinked}"
