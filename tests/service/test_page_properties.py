"""Hostile pages, property-based: ``extract_headlines`` never raises and never hangs, whatever the HTML
(the API hands it any page's bytes decoded with errors="replace"), and what it returns is well-formed:
at most ``limit`` distinct, whitespace-normalised headlines, the main one first, none from navigation."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.feeds.page_headlines import extract_headlines
from tests.support.feed_docs import SEED_LIKE_PAGE

QUICK = settings(max_examples=60, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
BASES = st.sampled_from([None, "", "https://news.example.ro/a/b?c=1", "http://[::1]:8080/", "not a url"])
HREFS = st.sampled_from(
    [
        "/x",
        "https://site.example/a",
        "http://[broken/ipv6",
        "http://[::1",
        "//host/p",
        "javascript:void(0)",
        "",
        " ",
        "#",
        "mailto:a@b",
        "http://ex ample/ü",
        "%zz",
        "\\\\host",
    ]
) | st.text(max_size=30)
WORDS = st.lists(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8), min_size=1, max_size=7
).map(" ".join)
NAV_MARK = "navmarkerword"  # text only ever placed in links inside nav/header/footer


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;")


@st.composite
def pages(draw: st.DrawFn) -> str:
    """A page of nested blocks holding lists of links, an article, asides and navigation."""

    def block(depth: int) -> str:
        tag = draw(
            st.sampled_from(["div", "ul", "ol", "section", "aside", "article", "main", "p", "span", "td"])
        )
        parts = []
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(
                st.sampled_from(
                    ["link", "link", "text", "block", "heading"] if depth < 6 else ["link", "text"]
                )
            )
            if kind == "link":
                site = draw(st.booleans())
                inner = (
                    f"<span>{_text(draw(WORDS))}</span><span>{_text(draw(WORDS))}</span>"
                    if site
                    else _text(draw(WORDS))
                )
                parts.append(f'<li><a href="{_attr(draw(HREFS))}">{inner}</a></li>')
            elif kind == "text":
                parts.append(_text(draw(WORDS)))
            elif kind == "heading":
                parts.append(f"<h{draw(st.integers(1, 4))}>{_text(draw(WORDS))}</h{draw(st.integers(1, 4))}>")
            else:
                parts.append(block(depth + 1))
        return f"<{tag}>{''.join(parts)}</{tag}>"

    nav = "".join(f'<a href="/n{i}">{NAV_MARK} one two three {i}</a>' for i in range(draw(st.integers(0, 4))))
    wrap = draw(st.sampled_from(["nav", "header", "footer"]))
    meta = f'<meta property="og:title" content="{_attr(draw(WORDS))}">' if draw(st.booleans()) else ""
    return (
        f"<!doctype html><html><head>{meta}</head>"
        f"<body><{wrap}>{nav}</{wrap}>{block(0)}{block(0)}</body></html>"
    )


def _check(html: str, base: str | None, limit: int = 500) -> None:
    found = extract_headlines(html, base, limit)
    assert len(found) <= limit
    keys = [h.headline.casefold() for h in found]
    assert len(keys) == len(set(keys))
    for i, item in enumerate(found):
        assert item.headline and item.headline == " ".join(item.headline.split())
        assert item.role in ("main", "related", "teaser") and (item.role != "main" or i == 0)
        assert item.link is None or isinstance(item.link, str)
        assert NAV_MARK not in item.headline


@QUICK
@given(st.text(max_size=400), BASES)
@example("<" * 5000, None)
@example("<a href='x'>" * 3000 + "four words in here", None)
@example(
    '<ul><li><a href="http://[x/a">one two three four</a></li>'
    '<li><a href="/b">five six seven eight</a></li></ul>',
    "https://e.example/",
)  # urljoin raised ValueError("Invalid IPv6 URL")
@example("<h1>\x00 nul \ufffd</h1><a href='\x00'>a b c d</a><a href='\x00'>e f g h</a>", None)
def test_arbitrary_text(html: str, base: str | None) -> None:
    _check(html, base)


@QUICK
@given(st.binary(max_size=400), BASES)
def test_arbitrary_bytes_as_the_api_decodes_them(body: bytes, base: str | None) -> None:
    _check(body.decode("utf-8", errors="replace"), base)


@QUICK
@given(pages(), BASES, st.integers(1, 20))
def test_generated_pages(html: str, base: str | None, limit: int) -> None:
    _check(html, base, limit)


@settings(max_examples=6, deadline=timedelta(seconds=10))
@given(
    st.integers(1_000, 20_000), st.integers(10_000, 2_000_000), st.sampled_from(["div", "ul", "span", "a"])
)
def test_deep_nesting_and_huge_attributes(depth: int, attribute_size: int, tag: str) -> None:
    huge = "x" * attribute_size
    links = "".join(
        f'<li><a href="/{i}" data-x="{huge[:1000]}">deep link number {i} here</a></li>' for i in range(20)
    )
    html = (
        f'<html><head><meta property="og:title" content="{huge}"></head><body>'
        + f"<div class='{huge}'>"
        + f"<{tag}>" * depth
        + f"<ul>{links}</ul>"
        + f"</{tag}>" * depth
        + "</div></body></html>"
    )
    _check(html, "https://e.example/")


def test_the_seed_page_still_reads_the_same() -> None:
    """The properties hold on the page the product started from, too."""
    _check(SEED_LIKE_PAGE, "https://www.example.ro/")
