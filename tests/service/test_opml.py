"""``clickbait opml rewrite`` / ``restore``: every subscription onto the feed proxy and back, the rest of
the document as it was (folders, order, attributes and their order, comments, outlines without a
feed); the rewritten URLs are the proxy's own, as a real server reads them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import feedparser
import httpx
import pytest
from lxml import etree

from classifier.errors import ClickbaitError
from service.feeds.opml import restore, rewrite
from tests.support.feed_docs import NEWS_TITLE, RSS
from tests.support.upstream import Upstream, serve

PROXY = "http://127.0.0.1:8000/v1/filter?mode=annotate&block=farm.example.com"
ODD_URLS = [
    "https://news.example.ro/rss?cat=1&sort=new#top",
    "https://știri.example.ro/flux ăîș.xml",
    "http://example.org/feed?url=http://other.example/x&mode=annotate",
]


def opml(feeds: int) -> bytes:
    """Folders in folders, outlines without a feed, attributes in a set order and of other
    namespaces, a comment, and ``feeds`` generated subscriptions in folders of ten."""
    generated = "\n".join(
        f'    <outline text="Folder {f}">\n'
        + "\n".join(
            f'      <outline type="rss" text="Feed {n}" title="Feed {n}" xmlUrl="https://site{n}.example/rss.xml"'
            f' htmlUrl="https://site{n}.example/" x:added="2026-12-0{n % 9 + 1}"/>'
            for n in range(f * 10, min(f * 10 + 10, feeds))
        )
        + "\n    </outline>"
        for f in range((feeds + 9) // 10)
    )
    odd = "\n".join(
        f'      <outline xmlUrl="{url.replace("&", "&amp;")}" text="odd {i}" type="rss"/>'
        for i, url in enumerate(ODD_URLS)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- exported by a reader -->
<opml version="2.0" xmlns:x="urn:example:reader">
  <head>
    <title>Abonamente</title>
    <dateCreated>Sun, 06 Dec 2026 10:00:00 GMT</dateCreated>
  </head>
  <body>
    <outline text="Știri" title="Știri" x:collapsed="true">
      <outline text="Adânc">
{odd}
        <outline text="a note, no feed" category="/notes"/>
        <outline type="link" text="a web page" url="https://example.org/page"/>
      </outline>
      <!-- a comment among the feeds -->
    </outline>
    <outline text="Fără dosar" xmlUrl="https://loose.example/atom" type="rss" version="ATOM"/>
{generated}
  </body>
</opml>
""".encode()


def shape(document: bytes) -> list[tuple]:
    """Every node in document order: its tag, its attributes in their order, text and tail."""
    root = etree.fromstring(document)
    return [
        (node.tag, list(node.attrib.items()) if node.tag is not etree.Comment else [], node.text, node.tail)
        for node in root.iter()
    ]


def through_proxy(url: str) -> str:
    return f"http://127.0.0.1:8000/v1/filter?url={quote(url, safe='')}&mode=annotate&block=farm.example.com"


def run_opml(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "opml", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
    )


def test_a_round_trip_changes_the_feed_urls_and_nothing_else(tmp_path: Path) -> None:
    document = opml(200)
    source = tmp_path / "feeds.opml"
    source.write_bytes(document)
    done = run_opml("rewrite", str(source), "--proxy", PROXY)
    assert done.returncode == 0, done.stderr
    rewritten = done.stdout
    before, after = shape(document), shape(rewritten)
    assert len(before) == len(after)
    moved = 0
    for (tag, attrs, text, tail), (tag2, attrs2, text2, tail2) in zip(before, after, strict=True):
        assert (tag, text, tail) == (tag2, text2, tail2)
        expected = [(k, through_proxy(v) if k == "xmlUrl" else v) for k, v in attrs]
        assert attrs2 == expected
        moved += any(k == "xmlUrl" for k, _ in attrs)
    assert moved == 200 + len(ODD_URLS) + 1
    assert rewritten.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<!-- exported by a reader -->")
    proxied = [e.get("xmlUrl") for e in etree.fromstring(rewritten).iter("outline") if e.get("xmlUrl")]
    originals = [e.get("xmlUrl") for e in etree.fromstring(document).iter("outline") if e.get("xmlUrl")]
    assert [dict(parse_qsl(urlsplit(u).query))["url"] for u in proxied] == originals

    assert rewrite(rewritten, PROXY) == rewritten  # a feed through a proxy already is left alone
    back = run_opml("restore", "-", stdin=rewritten)
    assert back.returncode == 0, back.stderr
    assert shape(back.stdout) == before
    assert etree.tostring(etree.fromstring(back.stdout), method="c14n") == etree.tostring(
        etree.fromstring(document), method="c14n"
    )
    assert shape(restore(document)) == before  # no feed through a proxy: nothing to restore


def test_the_proxy_url_takes_the_service_address_alone() -> None:
    one = b'<opml version="1.0"><body><outline xmlUrl="https://a.example/rss?x=1&amp;y=2"/></body></opml>'
    rewritten = etree.fromstring(rewrite(one, "https://filter.example:8443/"))
    assert rewritten.find("body/outline").get("xmlUrl") == (
        "https://filter.example:8443/v1/filter?url=https%3A%2F%2Fa.example%2Frss%3Fx%3D1%26y%3D2"
    )


@pytest.mark.parametrize(
    ("document", "proxy", "error_type"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa">]><opml><body/></opml>', PROXY, "unsafe_xml"),
        (b"<opml><body>", PROXY, "malformed_feed"),
        (RSS.encode(), PROXY, "not_a_feed"),
        (b"<opml><body/></opml>", "ftp://files.example/", "bad_url"),
    ],
)
def test_unsafe_or_other_documents_are_refused(document: bytes, proxy: str, error_type: str) -> None:
    with pytest.raises(ClickbaitError) as refused:
        rewrite(document, proxy)
    assert refused.value.error_type == error_type


def test_a_refusal_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "not.opml"
    source.write_text(RSS)
    done = run_opml("restore", str(source))
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().strip() == "clickbait opml: error: the document's root is <rss>, not <opml>"


@pytest.fixture()
def upstream() -> Iterator[str]:
    feed = Upstream(RSS.encode(), validators=False)
    server = serve(feed)
    yield f"{feed.url}?a=1&b=2"
    server.shutdown()


def test_a_rewritten_subscription_is_the_proxy_filtering_that_feed(shared_server, upstream: str) -> None:
    running = shared_server(feed_fetch=True, feed_allowed_hosts=["127.0.0.1"])
    listed = f'<opml version="2.0"><body><outline xmlUrl="{upstream.replace("&", "&amp;")}"/></body></opml>'
    rewritten = rewrite(listed.encode(), running.url)
    subscription = etree.fromstring(rewritten).find("body/outline").get("xmlUrl")
    answer = httpx.get(subscription, timeout=30)
    assert answer.status_code == 200, answer.text
    assert [e.title for e in feedparser.parse(answer.content).entries] == [NEWS_TITLE]
