"""The headlines of a whole HTML page, each with its role: the main headline, related-article links
inside the article, and teaser lists (sidebars, partner boxes) outside it.

Structure decides, not wording: a link counts as a headline when its text reads like one (several
words) and it sits in a block of such links; navigation, header and footer are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

Role = Literal["main", "related", "teaser"]
MIN_WORDS = 4
MIN_BLOCK_LINKS = 2
SKIPPED = {"nav", "header", "footer", "script", "style", "noscript", "form"}


@dataclass(frozen=True)
class PageHeadline:
    headline: str
    role: Role
    link: str | None = None
    site: str | None = None


def _words(text: str) -> str:
    return " ".join(text.split())


def _inside(node: Node, tags: set[str] = frozenset(), ancestor: Node | None = None) -> bool:
    """Whether ``node`` lies within an element of one of ``tags``, or within ``ancestor``."""
    parent = node.parent
    while parent is not None:
        if parent.tag in tags or (ancestor is not None and parent.mem_id == ancestor.mem_id):
            return True
        parent = parent.parent
    return False


def _link_text(anchor: Node) -> tuple[str, str | None]:
    """An anchor holding a site name and a title in separate elements: the longer is the headline."""
    parts = [_words(child.text()) for child in anchor.iter() if _words(child.text())]
    if len(parts) >= 2:
        parts.sort(key=len, reverse=True)
        return parts[0], parts[-1]
    return _words(anchor.text()), None


def extract_headlines(html: str, base_url: str | None = None, limit: int = 500) -> list[PageHeadline]:
    tree = HTMLParser(html)
    found: list[PageHeadline] = []
    seen: set[str] = set()

    def add(text: str, role: Role, link: str | None = None, site: str | None = None) -> None:
        if text and text.casefold() not in seen and len(found) < limit:
            seen.add(text.casefold())
            found.append(PageHeadline(text, role, urljoin(base_url or "", link) if link else None, site))

    title = tree.css_first("h1")
    og = tree.css_first('meta[property="og:title"]')
    add(_words(title.text()) if title else _words((og.attributes.get("content") or "") if og else ""), "main")

    article = tree.css_first("article") or tree.css_first("main")
    blocks: dict[int, list[tuple[Node, str, str | None]]] = {}
    for anchor in tree.css("a[href]"):
        if _inside(anchor, SKIPPED):
            continue
        text, site = _link_text(anchor)
        if len(text.split()) < MIN_WORDS:
            continue
        block = anchor.parent
        while block is not None and block.tag in {"li", "span", "p", "h2", "h3", "h4", "strong", "em"}:
            block = block.parent  # group links by the list or box that holds them
        blocks.setdefault(block.mem_id if block is not None else 0, []).append((anchor, text, site))

    for links in blocks.values():
        for anchor, text, site in links:
            in_article = article is not None and _inside(anchor, ancestor=article) and not _inside(anchor, {"aside"})
            if in_article:
                add(text, "related", anchor.attributes.get("href"), site)
            elif len(links) >= MIN_BLOCK_LINKS:
                add(text, "teaser", anchor.attributes.get("href"), site)
    return found
