"""The headlines of a whole HTML page, each with its role: the main headline, related-article links
inside the article, and teaser lists (sidebars, partner boxes) outside it.

Structure decides, not wording: a link counts as a headline when its text reads like one (several
words) and it sits in a block of such links; navigation, header and footer are skipped.

Cost: linear in the page here, but lexbor's tree building is quadratic in nesting depth, so the API
refuses pages nested deeper than ``MAX_DEPTH`` (``deepest_nesting``, one linear pass) and runs the
rest off the event loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

Role = Literal["main", "related", "teaser"]
MAX_DEPTH = 2000  # open elements; real news pages stay under a few hundred
MAX_TAGS = 200_000  # tags of a page; real news pages have a few thousand to a few tens of thousands
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


SKIP, IN_ARTICLE, IN_ASIDE = 1, 2, 4


class _Ancestry:
    """What encloses a node (a skipped tag, the article, an aside), worked out once per node: walking
    up from every link costs links × depth, quadratic on a deep page of many links."""

    def __init__(self, article: Node | None) -> None:
        self.article_id = article.mem_id if article is not None else None
        self.memo: dict[int, int] = {}

    def _own(self, node: Node) -> int:
        return (
            (SKIP if node.tag in SKIPPED else 0)
            | (IN_ASIDE if node.tag == "aside" else 0)
            | (IN_ARTICLE if node.mem_id == self.article_id else 0)
        )

    def above(self, node: Node) -> int:
        """The flags of ``node``'s ancestors (not of the node itself)."""
        chain, parent = [], node.parent
        while parent is not None and parent.mem_id not in self.memo:
            chain.append(parent)
            parent = parent.parent
        flags = self.memo[parent.mem_id] if parent is not None else 0
        for ancestor in reversed(chain):
            flags |= self._own(ancestor)
            self.memo[ancestor.mem_id] = flags
        return flags


def _link_text(anchor: Node) -> tuple[str, str | None]:
    """An anchor holding a site name and a title in separate elements: the longer is the headline."""
    parts = [_words(child.text()) for child in anchor.iter() if _words(child.text())]
    if len(parts) >= 2:
        parts.sort(key=len, reverse=True)
        return parts[0], parts[-1]
    return _words(anchor.text()), None


def _absolute(base_url: str | None, link: str) -> str | None:
    """The link resolved against the page's address, if it is an http(s) address (a ``javascript:``
    or ``file:`` link handed back would run or open in whatever shows the answer); one urllib cannot
    split (``http://[x``: "Invalid IPv6 URL") is left out too."""
    try:
        resolved = urljoin(base_url or "", link)
        scheme = urlsplit(resolved.strip()).scheme.lower()
    except ValueError:
        return None
    return resolved if scheme in ("http", "https") else None


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")  # [^<>]: each match stops at the next tag
# elements that never hold others, and ones the parser closes by itself when the next one opens
_NOT_NESTING = frozenset(
    "area base br col embed hr img input link meta source track wbr p li dt dd tr td th option "
    "thead tbody tfoot colgroup rb rt rp optgroup".split()
)


def deepest_nesting(html: str, stop: int = MAX_DEPTH) -> int:
    """How deep the page's open elements go, counted in one linear pass over its tags (ended as soon
    as it passes ``stop``): lexbor's tree building is quadratic in that depth, so the API refuses a
    page nested past what people read before parsing it. An estimate (no auto-closing rules but the
    common ones), never an undercount of plain ``<div>`` nesting."""
    depth = deepest = 0
    for tag in _TAG.finditer(html):
        closing, name, self_closed = tag.groups()
        name = name.lower()
        if name in _NOT_NESTING or self_closed:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
        if deepest > stop:
            break
    return deepest


def extract_headlines(html: str, base_url: str | None = None, limit: int = 500) -> list[PageHeadline]:
    tree = HTMLParser(html)
    found: list[PageHeadline] = []
    seen: set[str] = set()

    def add(text: str, role: Role, link: str | None = None, site: str | None = None) -> None:
        if text and text.casefold() not in seen and len(found) < limit:
            seen.add(text.casefold())
            found.append(PageHeadline(text, role, _absolute(base_url, link) if link else None, site))

    title = tree.css_first("h1")
    og = tree.css_first('meta[property="og:title"]')
    add(_words(title.text()) if title else _words((og.attributes.get("content") or "") if og else ""), "main")

    article = tree.css_first("article") or tree.css_first("main")
    ancestry = _Ancestry(article)
    blocks: dict[int, list[tuple[Node, str, str | None]]] = {}
    for anchor in tree.css("a[href]"):
        if ancestry.above(anchor) & SKIP:
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
            in_article = ancestry.above(anchor) & (IN_ARTICLE | IN_ASIDE) == IN_ARTICLE
            if in_article:
                add(text, "related", anchor.attributes.get("href"), site)
            elif len(links) >= MIN_BLOCK_LINKS:
                add(text, "teaser", anchor.attributes.get("href"), site)
    return found
