"""Hostile feeds, property-based: whatever the bytes, ``parse_feed`` either returns a feed or raises
``FeedError`` (the API's 4xx), never anything else and never slowly; a parsed feed, written back in
either mode, parses again with every item kept (annotate) or only the kept ones (drop)."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.api.http_errors import status_of
from service.feeds.formats import Decision, FeedError, needs_score, parse_feed
from service.feeds.site_rules import SiteRules
from tests.support.feed_docs import ATOM, BILLION_LAUGHS, JSON_FEED, RSS, RSS1, XXE

# Small budgets: the whole module runs in a few seconds on a shared 2-core machine; a single example
# taking seconds is a hang worth failing for (hypothesis re-runs it before it reports).
QUICK = settings(max_examples=60, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/rss+xml",
        "application/atom+xml",
        "application/json",
        "application/feed+json; charset=utf-8",
        "text/xml",
        "text/html",
        "",
    ]
)
VALID = [d.encode() for d in (RSS, ATOM, RSS1, JSON_FEED)]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid feed with a few byte-level edits: cut, insert, overwrite or duplicate a span."""
    body = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(body)))
        end = draw(st.integers(at, min(len(body), at + 40)))
        edit = draw(st.sampled_from(["cut", "insert", "overwrite", "duplicate"]))
        if edit == "cut":
            del body[at:end]
        elif edit == "duplicate":
            body[at:at] = body[at:end]
        else:
            junk = draw(
                st.binary(min_size=1, max_size=12)
                | st.sampled_from(
                    [
                        b"<",
                        b">",
                        b"&",
                        b"]]>",
                        b"<item>",
                        b"</item>",
                        b'"',
                        b"{",
                        b"}",
                        b"\\ud800",
                        b"\x00",
                        b"\xff",
                    ]
                )
            )
            body[at : end if edit == "overwrite" else at] = junk
    return bytes(body)


XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n&<>\"'"), max_size=40
)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@st.composite
def generated(draw: st.DrawFn) -> bytes:
    """A well-formed feed of any of the formats with arbitrary titles, links and item counts."""
    titles = draw(st.lists(st.none() | XML_TEXT, max_size=8))
    kind = draw(st.sampled_from(["rss", "atom", "rss1", "json"]))
    if kind == "json":
        extra = st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        )
        items = [
            {
                **({"title": t} if t is not None else {}),
                "url": draw(st.none() | st.text(max_size=20)),
                "x": draw(extra),
            }
            for t in titles
        ]
        return json.dumps(
            {"version": "https://jsonfeed.org/version/1.1", "items": items}, ensure_ascii=draw(st.booleans())
        ).encode()
    parts = ["" if t is None else f"<title>{_escape(t)}</title>" for t in titles]
    if kind == "rss":
        body = "".join(f"<item>{p}<link>{_escape(draw(XML_TEXT))}</link></item>" for p in parts)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>{body}</channel></rss>'
        ).encode()
    if kind == "atom":
        body = "".join(f"<entry>{p}</entry>" for p in parts)
        return f'<feed xmlns="http://www.w3.org/2005/Atom">{body}</feed>'.encode()
    body = "".join(f"<item>{p}</item>" for p in parts)
    return (
        f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
        f"{body}</rdf:RDF>"
    ).encode()


def _check(body: bytes, content_type: str | None, labels: list[bool]) -> None:
    """The contract: FeedError or a feed whose output re-parses with the right items."""
    try:
        feed = parse_feed(body, content_type)
    except FeedError as exc:
        assert 400 <= status_of(exc) < 500 and exc.error_type
        return
    n = len(feed.items)
    needs_score(feed.items, RULES)  # site rules read every item's link, whatever it holds
    decisions = (
        [Decision("clickbait" if labels[i % len(labels)] else "news", 0.5) for i in range(n)]
        if labels
        else [Decision("news", 0.1)] * n
    )
    kept = sum(d.label == "news" for d in decisions)
    annotated = parse_feed(feed.apply(decisions, "annotate"), content_type)
    assert len(annotated.items) == n and annotated.format == feed.format  # annotate keeps every item
    assert [i.title for i in annotated.items] == [i.title for i in feed.items]
    dropped = parse_feed(parse_feed(body, content_type).apply(decisions, "drop"), content_type)
    assert len(dropped.items) == kept <= n  # drop only ever removes, and exactly the clickbait ones


LABELS = st.lists(st.booleans(), max_size=5)
RULES = SiteRules.of(["news.example.ro"], ["farm.example.com"])


@QUICK
@given(st.binary(max_size=300), CONTENT_TYPES, LABELS)
@example(b"[" * 100_000, None, [])  # nesting deeper than the JSON decoder's recursion limit
@example(b"{" * 50_000, "application/json", [])
@example(BILLION_LAUGHS.encode(), None, [])
@example(XXE.encode(), "application/rss+xml", [])
@example(b'<?xml version="1.0" encoding="bogus"?><rss/>', None, [])
@example(b"\xef\xbb\xbf<rss><channel><item/></channel></rss>", None, [True])
@example("<rss><channel><item><title>ș</title></item></channel></rss>".encode("utf-16"), "text/xml", [])
def test_arbitrary_bytes(body: bytes, content_type: str | None, labels: list[bool]) -> None:
    _check(body, content_type, labels)


@QUICK
@given(mutated(), CONTENT_TYPES, LABELS)
@example(b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"title": "\\ud800 lone"}]}', None, [])
@example(b"<rss><channel><item><title>t</title><link>http://[x</link></item></channel></rss>", None, [])
@example(
    b'{"version": "https://jsonfeed.org/version/1", "items": [{"title": "t", "url": "http://[::1"}]}',
    None,
    [],
)
@example(b'{"version": "https://jsonfeed.org/version/1", "items": [{"title": "x", "n": NaN}]}', None, [])
@example(b'{"version": "https://jsonfeed.org/version/1", "items": [{"n": 1e999}]}', None, [])
@example(
    b'{"version": "https://jsonfeed.org/version/1", "items": [{"x": ' + b"[" * 600 + b"]" * 600 + b"}]}",
    None,
    [],
)  # loads within the limit, but writing it back recursed in the indenting encoder
def test_mutated_valid_feeds(body: bytes, content_type: str | None, labels: list[bool]) -> None:
    _check(body, content_type, labels)


@QUICK
@given(generated(), LABELS)
def test_generated_feeds_round_trip(body: bytes, labels: list[bool]) -> None:
    feed = parse_feed(body)  # well-formed by construction: it must parse
    _check(body, None, labels)
    assert all(i.title is None or i.title == " ".join(i.title.split()) for i in feed.items)


@settings(max_examples=5, deadline=timedelta(seconds=10))
@given(st.integers(5_000, 60_000), st.sampled_from(["rss", "atom", "json"]))
def test_deeply_nested_documents_are_refused_or_parsed_quickly(depth: int, kind: str) -> None:
    if kind == "json":
        inner = b'{"a":' * depth + b"1" + b"}" * depth
        body = (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"title": "t", "deep": '
            + inner
            + b"}]}"
        )
    else:
        root = (
            b"<rss><channel><item><title>t</title>"
            if kind == "rss"
            else b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>t</title>'
        )
        body = (
            root
            + b"<x>" * depth
            + b"</x>" * depth
            + (b"</item></channel></rss>" if kind == "rss" else b"</entry></feed>")
        )
    _check(body, None, [True])
