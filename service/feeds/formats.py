"""RSS 2.0 / RSS 1.0, Atom 1.0 and JSON Feed 1.1 documents: sniff, parse safely, drop or annotate items.

XML is checked by defusedxml first (no DTD entities, no external references: billion laughs and
XXE are refused), then parsed and rewritten with lxml so that everything we do not touch —
namespaces, CDATA, enclosures, unknown elements — survives unchanged.
"""

from __future__ import annotations

import codecs
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from lxml import etree

from classifier.errors import ClickbaitError, ErrorType
from service.feeds.rules import NO_RULES, Rules
from service.feeds.site_rules import SiteRules

NS = "urn:x-clickbait:feed:1"  # our annotation namespace, prefix "clickbait"
ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
RSS1 = "http://purl.org/rss/1.0/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"  # RSS's content:encoded
XHTML = "http://www.w3.org/1999/xhtml"
JSON_FEED_PREFIX = "https://jsonfeed.org/version/"
Mode = Literal["drop", "annotate"]
FeedFormat = Literal["rss", "atom", "json"]


class FeedError(ClickbaitError, ValueError):
    """A body that is not a feed we can filter; the raise site names its kind."""

    error_type = ErrorType.malformed_feed


class UnreadableFeed(FeedError):
    """A body that is neither XML nor JSON: not a feed, by its very type."""

    error_type = ErrorType.not_a_feed


@dataclass
class Decision:
    """What happens to one item: its score (None when a rule decided alone), label and rule: a site
    rule (``block:HOST``, ``allow:HOST``), a rules file's (``drop:FILE:LINE``, ``keep:FILE:LINE``),
    ``no-title``, or None when the model decided."""

    label: str
    score: float | None = None
    rule: str | None = None
    lang: str | None = None  # the title's language, where it was scored
    validated: bool = True  # False: scored in a language the model's calibration was never fitted on
    personal: bool = False  # the reader's personal layer changed the shared model's label

    def drops(self, mode: Mode, hold_unvalidated: bool, clickbait_label: str = "clickbait") -> bool:
        """Whether the item goes: clickbait in drop mode, unless held (``hold_unvalidated`` and
        scored in an unvalidated language: annotated instead)."""
        held = hold_unvalidated and not self.validated
        return mode == "drop" and self.label == clickbait_label and not held

    @property
    def decided_by(self) -> str:
        """``model``, ``personal``, ``site:HOST``, ``rule:FILE:LINE`` or ``no-title``: what the
        answers name."""
        if self.rule is None:
            return "personal" if self.personal else "model"
        kind, _, name = self.rule.partition(":")
        return f"{_DECIDERS[kind]}:{name}" if kind in _DECIDERS else self.rule


_DECIDERS = {"block": "site", "allow": "site", "drop": "rule", "keep": "rule"}
REMOVING_RULES = ("block:", "drop:")  # the rules that label an item clickbait


@dataclass(frozen=True)
class LabelLinks:
    """Where a reader labels one item from their feed: a URL per label (a page that asks first)."""

    clickbait: str  # shown as "Teaser"
    news: str

    def items(self) -> tuple[tuple[str, str, str], ...]:
        """(label, the word a reader sees, URL), in the order they are shown."""
        return (("clickbait", "Teaser", self.clickbait), ("news", "News", self.news))

    def html(self) -> str:
        """The two links as a small HTML paragraph, every URL escaped."""
        links = " · ".join(f'<a href="{escape(url)}">{word}</a>' for _, word, url in self.items())
        return f"<p><small>Label: {links}</small></p>"


@dataclass
class FeedItem:
    title: str | None
    link: str | None
    node: Any  # the lxml element or the JSON dict
    author: str | None = None  # the first author's name, for rules on authors


class Feed(ABC):
    """A parsed feed whose items can be dropped or annotated, then written back."""

    format: FeedFormat
    media_type: str

    def __init__(self, items: list[FeedItem]) -> None:
        self.items = items

    def apply(
        self,
        decisions: list[Decision],
        mode: Mode,
        clickbait_label: str = "clickbait",
        hold_unvalidated: bool = False,
        links: Sequence[LabelLinks | None] | None = None,
    ) -> bytes:
        """Drop or annotate each item; with ``hold_unvalidated``, a clickbait item scored in an
        unvalidated language is annotated instead of dropped, even in drop mode. ``links``: one per
        item (None: that item has none), added to each item annotate mode annotates, flagged or not,
        both in the annotation and in the HTML the reader shows."""
        links = links or [None] * len(self.items)
        for item, decision, link in zip(self.items, decisions, links, strict=True):
            if decision.drops(mode, hold_unvalidated, clickbait_label):
                self._remove(item)
            elif mode == "annotate" or decision.label == clickbait_label:  # annotate, or clickbait held
                self._annotate(item, decision)
                if mode == "annotate" and link is not None:
                    self._link(item, link)
        return self._serialise()

    @abstractmethod
    def _remove(self, item: FeedItem) -> None: ...

    @abstractmethod
    def _annotate(self, item: FeedItem, decision: Decision) -> None: ...

    @abstractmethod
    def _link(self, item: FeedItem, links: LabelLinks) -> None: ...

    @abstractmethod
    def _serialise(self) -> bytes: ...


class XmlFeed(Feed):
    def __init__(self, tree: etree._ElementTree, items: list[FeedItem], kind: FeedFormat) -> None:
        super().__init__(items)
        self.tree, self.format = tree, kind
        self.media_type = "application/atom+xml" if kind == "atom" else "application/rss+xml"

    def _remove(self, item: FeedItem) -> None:
        item.node.getparent().remove(item.node)  # the item's trailing whitespace goes with it

    def _annotate(self, item: FeedItem, decision: Decision) -> None:
        node, atom = item.node, self.format == "atom"
        category = etree.SubElement(node, f"{{{ATOM}}}category" if atom else _sibling_tag(node, "category"))
        if atom:
            category.set("term", decision.label)
            category.set("scheme", NS)
        else:
            category.set("domain", NS)
            category.text = decision.label
        if decision.score is not None:
            etree.SubElement(node, f"{{{NS}}}score").text = f"{decision.score:.6f}"
        etree.SubElement(node, f"{{{NS}}}label").text = decision.label
        if decision.rule:
            etree.SubElement(node, f"{{{NS}}}rule").text = decision.rule
        etree.SubElement(node, f"{{{NS}}}decided_by").text = decision.decided_by
        if decision.lang is not None:
            etree.SubElement(node, f"{{{NS}}}lang").text = decision.lang
            etree.SubElement(node, f"{{{NS}}}validated").text = "true" if decision.validated else "false"

    def _link(self, item: FeedItem, links: LabelLinks) -> None:
        """``<clickbait:label_link label="…">URL</clickbait:label_link>`` for programs, and the links
        appended to the HTML a reader shows: RSS's ``description`` and ``content:encoded`` (a
        ``description`` made when it has neither), Atom's inline ``content``, else its ``summary``."""
        node = item.node
        for label, _, url in links.items():
            etree.SubElement(node, f"{{{NS}}}label_link", label=label).text = url
        if self.format == "atom":
            _atom_links(node, links)
            return
        bodies = [node.find(_sibling_tag(node, "description")), node.find(f"{{{CONTENT}}}encoded")]
        shown = [body for body in bodies if body is not None]
        for body in shown or [etree.SubElement(node, _sibling_tag(node, "description"))]:
            _append_html(body, links.html())

    def _serialise(self) -> bytes:
        root = self.tree.getroot()
        etree.cleanup_namespaces(root, top_nsmap={"clickbait": NS})
        encoding = self.tree.docinfo.encoding or "utf-8"
        return etree.tostring(self.tree, xml_declaration=True, encoding=encoding)


class JsonFeed(Feed):
    format: FeedFormat = "json"
    media_type = "application/feed+json"

    def __init__(self, document: dict, items: list[FeedItem]) -> None:
        super().__init__(items)
        self.document = document
        self._dropped: set[int] = set()

    def _remove(self, item: FeedItem) -> None:
        self._dropped.add(id(item.node))

    def _annotate(self, item: FeedItem, decision: Decision) -> None:
        extension: dict[str, Any] = {"label": decision.label}
        if decision.score is not None:
            extension["score"] = round(decision.score, 6)
        if decision.rule:
            extension["rule"] = decision.rule
        extension["decided_by"] = decision.decided_by
        if decision.lang is not None:
            extension["lang"], extension["validated"] = decision.lang, decision.validated
        item.node["_clickbait"] = extension

    def _link(self, item: FeedItem, links: LabelLinks) -> None:
        """``label_links`` in ``_clickbait``, and the links appended to ``content_html`` (made from
        ``content_text``, escaped, when the item has only that)."""
        node = item.node
        node["_clickbait"]["label_links"] = {label: url for label, _, url in links.items()}
        shown = node.get("content_html")
        if not isinstance(shown, str):
            text = node.get("content_text")
            shown = f"<p>{escape(text)}</p>" if isinstance(text, str) and text else ""
        node["content_html"] = shown + links.html()

    def _serialise(self) -> bytes:
        self.document["items"] = [i for i in self.document["items"] if id(i) not in self._dropped]
        try:
            return json.dumps(self.document, ensure_ascii=False, indent=2).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escape in the input: keep it escaped, as it came
            return json.dumps(self.document, ensure_ascii=True, indent=2).encode("ascii")


def _append_html(element: etree._Element, html: str) -> None:
    """Append ``html`` to an element whose text is HTML (escaped or CDATA: written back escaped)."""
    if len(element):  # markup where text belongs: add after it, still well-formed
        element[-1].tail = (element[-1].tail or "") + html
    else:
        element.text = (element.text or "") + html


def _atom_links(entry: etree._Element, links: LabelLinks) -> None:
    """The links in the entry's inline ``content`` (text, html or xhtml), else its ``summary``, else a
    ``summary`` made for them; a text construct becomes html (its text escaped) to carry them."""
    content = entry.find(f"{{{ATOM}}}content")
    inline = content is not None and content.get("src") is None
    if not (inline and content.get("type", "text") in ("text", "html", "xhtml")):
        content = entry.find(f"{{{ATOM}}}summary")
    if content is None:
        content = etree.SubElement(entry, f"{{{ATOM}}}summary", type="html")
    kind = content.get("type", "text")
    if kind == "xhtml":
        div = content.find(f"{{{XHTML}}}div")
        if div is not None:  # xhtml content is one div: the links go in it, as XHTML
            paragraph = etree.SubElement(div, f"{{{XHTML}}}p")
            small = etree.SubElement(paragraph, f"{{{XHTML}}}small")
            small.text = "Label: "
            for i, (_, word, url) in enumerate(links.items()):
                anchor = etree.SubElement(small, f"{{{XHTML}}}a", href=url)
                anchor.text, anchor.tail = word, " · " if i == 0 else None
        return
    if kind != "html":  # text: its characters, escaped, are the same text as html
        text = "".join(content.itertext())
        for child in list(content):
            content.remove(child)
        content.text, content.attrib["type"] = escape(text, quote=False), "html"
    _append_html(content, links.html())


def _sibling_tag(node: etree._Element, local: str) -> str:
    """RSS 1.0 items live in a namespace; RSS 2.0 items in none."""
    namespace = etree.QName(node).namespace
    return f"{{{namespace}}}{local}" if namespace else local


def _text(node: etree._Element | None) -> str | None:
    if node is None:
        return None
    text = " ".join("".join(node.itertext()).split())
    return text or None


def sniff(body: bytes, content_type: str | None) -> Literal["xml", "json"]:
    media = (content_type or "").split(";")[0].strip().lower()
    if media.endswith("json"):
        return "json"
    if media.endswith("xml"):
        return "xml"
    start = body.lstrip()[:1]
    if start in (b"{", b"["):
        return "json"
    if start == b"<" or body.startswith(b"\xef\xbb\xbf<"):
        return "xml"
    raise UnreadableFeed("the body is neither XML nor JSON")


def parse_feed(body: bytes, content_type: str | None = None, max_items: int = 10_000) -> Feed:
    """Parse a feed; raise FeedError (its kind says why) for anything we will not filter."""
    feed = _parse_json(body) if sniff(body, content_type) == "json" else _parse_xml(body)
    if len(feed.items) > max_items:
        raise FeedError(
            f"the feed has {len(feed.items)} items; the limit is {max_items}", ErrorType.too_many_items
        )
    return feed


MAX_JSON_DEPTH = 64  # JSON Feeds nest a few levels; the indenting writer recurses ~330 deep at most


def _parse_json(body: bytes) -> JsonFeed:
    try:
        document = json.loads(body, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FeedError(f"the body is not valid JSON: {exc}", ErrorType.malformed_feed) from exc
    if _too_deep(document, MAX_JSON_DEPTH):
        raise FeedError(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels", ErrorType.malformed_feed)
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(JSON_FEED_PREFIX):
        raise FeedError("JSON body is not a JSON Feed (no 'version' of jsonfeed.org)", ErrorType.not_a_feed)
    items = document.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise FeedError("a JSON Feed needs an 'items' list of objects", ErrorType.not_a_feed)
    return JsonFeed(
        document,
        [
            FeedItem(
                _clean(i.get("title")),
                i.get("url") if isinstance(i.get("url"), str) else None,
                i,
                _json_author(i),
            )
            for i in items
        ],
    )


def _json_author(item: dict) -> str | None:
    """The first of JSON Feed 1.1's ``authors``, else 1.0's ``author``: its name."""
    authors = item.get("authors")
    first = authors[0] if isinstance(authors, list) and authors else item.get("author")
    return _clean(first.get("name")) if isinstance(first, dict) else None


def _not_json(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")  # Python's json reads NaN and Infinity; JSON has neither


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e999 would come back out as the non-JSON Infinity
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _too_deep(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than ``limit`` (iteratively: the check itself must not recurse)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in children)
    return False


def _clean(value: Any) -> str | None:
    """A title for scoring: whitespace collapsed; a lone surrogate (a JSON escape such as \\ud800 that
    is no character) becomes U+FFFD, since it cannot be encoded for the tokenizer."""
    if not isinstance(value, str):
        return None
    value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return " ".join(value.split()) or None


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_blank_text=False,
    strip_cdata=False,
)


# encodings expat decodes itself; a feed in any other is re-encoded as UTF-8 before parsing
_EXPAT_ENCODINGS = frozenset(
    {"utf-8", "utf8", "utf-16", "utf16", "iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"}
)
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_UTF32 = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (b"<\0\0\0", "utf-32-le"),
    (b"\0\0\0<", "utf-32-be"),
)


def readable_by_expat(body: bytes) -> bytes:
    """``body`` as expat can read it: unchanged where expat knows its encoding, else decoded with
    Python's codec for the declared one (Shift_JIS, EUC-JP, GB18030, Big5, UTF-32, UTF-7, …) and
    re-encoded as UTF-8 with the declaration saying so. Raises FeedError for an unknown encoding
    or bytes that are not in the declared one."""
    for mark, codec in _UTF32:
        if body.startswith(mark):
            return _as_utf8(_decoded(body, codec))
    if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body
    declared = _DECLARED.match(body)
    if declared is None or declared.group(1).decode("ascii").lower() in _EXPAT_ENCODINGS:
        return body
    return _as_utf8(_decoded(body, declared.group(1).decode("ascii")))


def _decoded(body: bytes, encoding: str) -> str:
    try:
        return body.decode(codecs.lookup(encoding).name)
    except LookupError as exc:
        raise FeedError(
            f"the feed's encoding {encoding!r} is not one known here", ErrorType.malformed_feed
        ) from exc
    except UnicodeDecodeError as exc:
        raise FeedError(f"the feed is not valid {encoding}: {exc.reason}", ErrorType.malformed_feed) from exc


def _as_utf8(text: str) -> bytes:
    text = text.lstrip("\ufeff")
    text = re.sub(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""", r"\1UTF-8\2", text, count=1)
    return text.encode("utf-8")


def safe_xml_tree(body: bytes) -> etree._ElementTree:
    """``body`` parsed by lxml after defusedxml's check (no entity declarations, no external
    references); raises FeedError for unsafe or malformed XML."""
    body = readable_by_expat(body)
    try:
        safe_xml.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FeedError(
            f"refused: the XML declares entities or external references ({type(exc).__name__})",
            ErrorType.unsafe_xml,
        ) from exc
    # LookupError: expat meets an unknown encoding; ValueError: one it refuses (multi-byte)
    except (safe_xml.ParseError, LookupError, ValueError) as exc:
        raise FeedError(f"the body is not well-formed XML: {exc}", ErrorType.malformed_feed) from exc
    try:
        tree = etree.ElementTree(etree.fromstring(body, _PARSER))
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"the body is not well-formed XML: {exc}", ErrorType.malformed_feed) from exc
    return tree


def _parse_xml(body: bytes) -> XmlFeed:
    tree = safe_xml_tree(body)
    root = tree.getroot()
    name = etree.QName(root)
    if name.localname == "rss":
        channel = root.find("channel")
        nodes = channel.findall("item") if channel is not None else []
        items = [FeedItem(_text(n.find("title")), _text(n.find("link")), n, _rss_author(n)) for n in nodes]
        return XmlFeed(tree, items, "rss")
    if name.localname == "RDF":
        nodes = root.findall(f"{{{RSS1}}}item")
        items = [
            FeedItem(_text(n.find(f"{{{RSS1}}}title")), _text(n.find(f"{{{RSS1}}}link")), n, _rss_author(n))
            for n in nodes
        ]
        return XmlFeed(tree, items, "rss")
    if name.namespace == ATOM and name.localname == "feed":
        items = [
            FeedItem(
                _text(n.find(f"{{{ATOM}}}title")),
                _atom_link(n),
                n,
                _text(n.find(f"{{{ATOM}}}author/{{{ATOM}}}name")),
            )
            for n in root.findall(f"{{{ATOM}}}entry")
        ]
        return XmlFeed(tree, items, "atom")
    raise FeedError(f"XML root <{name.localname}> is not RSS or Atom", ErrorType.not_a_feed)


def _rss_author(item: etree._Element) -> str | None:
    """RSS 2.0's ``<author>`` (an address, often with the name), else Dublin Core's ``<dc:creator>``."""
    return _text(item.find("author")) or _text(item.find(f"{{{DC}}}creator"))


def _atom_link(entry: etree._Element) -> str | None:
    for link in entry.findall(f"{{{ATOM}}}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return None


def needs_score(
    items: list[FeedItem], rules: SiteRules, written: Rules = NO_RULES
) -> tuple[list[str | None], list[int]]:
    """Each item's rule (or None): its site rule, else the first of the rules file's that matches; and
    the indices of items the model must score."""
    matched = [
        rules.decide(item.link) or written.decide(item.title, item.link, item.author) for item in items
    ]
    return matched, [i for i, item in enumerate(items) if item.title and matched[i] is None]


def decide(
    matched: list[str | None],
    scores: dict[int, float],
    threshold: float,
    labels: tuple[str, str],
    languages: dict[int, tuple[str, bool]] | None = None,
) -> list[Decision]:
    """A rule wins over the score; an item with neither (no title) stays news, unscored.
    ``languages``: (language, validated) of the scored items."""
    news, clickbait = labels
    languages = languages or {}
    decisions = []
    for i, rule in enumerate(matched):
        if rule is not None:
            decisions.append(Decision(clickbait if rule.startswith(REMOVING_RULES) else news, None, rule))
        elif i in scores:
            lang, validated = languages.get(i, (None, True))
            label = clickbait if scores[i] >= threshold else news
            decisions.append(Decision(label, scores[i], lang=lang, validated=validated))
        else:
            decisions.append(Decision(news, None, "no-title"))
    return decisions
