"""Feed, proxy, Miniflux and page routes on real servers (the session's shared ones, but a server of
its own where Miniflux's address is this test's upstream); upstreams are local HTTP servers."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import pytest
from lxml import etree

from tests.support.feed_docs import (
    ATOM,
    BAIT_TITLE,
    JSON_FEED,
    NEWS_TITLE,
    RSS,
    RSS1,
    SEED_LIKE_PAGE,
    rss_with_items,
)
from tests.support.models import TRIGGER

SECRET = "webhook-secret"


class Upstream(BaseHTTPRequestHandler):
    """A feed host and a stand-in for Miniflux's API, recording what it was sent."""

    received: ClassVar[list[tuple[str, str, dict, bytes]]] = []

    def do_GET(self) -> None:
        routes = {
            "/feed.xml": (200, "application/rss+xml; charset=utf-8", RSS.encode()),
            "/atom": (200, "application/atom+xml", ATOM.encode()),
            "/rdf": (200, "application/rdf+xml", RSS1.encode()),
            "/feed.json": (200, "application/feed+json", JSON_FEED.encode()),
            "/broken": (500, "text/plain", b"upstream trouble"),
            "/huge": (200, "application/rss+xml", rss_with_items(3000).encode()),
        }
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/feed.xml")
            self.end_headers()
            return
        if self.path == "/to-localhost":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_port}/feed.xml")
            self.end_headers()
            return
        status, content_type, body = routes.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Upstream.received.append(("PUT", self.path, dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def upstream() -> Iterator[str]:
    Upstream.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def post_feed(url: str, body: str, content_type: str, query: str = "") -> httpx.Response:
    return httpx.post(
        f"{url}/v1/filter{query}", content=body.encode(), headers={"Content-Type": content_type}, timeout=30
    )


def test_filter_drops_and_annotates_each_format(server) -> None:
    dropped = post_feed(server.url, RSS, "application/rss+xml", "?mode=drop")
    assert dropped.status_code == 200 and dropped.headers["content-type"].startswith("application/rss+xml")
    assert dropped.headers["x-clickbait-model"] == "known-1" and dropped.headers["x-clickbait-dropped"] == "1"
    assert [e.title for e in feedparser.parse(dropped.content).entries] == [NEWS_TITLE]

    annotated = post_feed(server.url, ATOM, "application/atom+xml", "?mode=annotate")
    entries = feedparser.parse(annotated.content).entries
    assert [[t.term for t in e.tags] for e in entries] == [["news"], ["clickbait"]]

    as_json = post_feed(server.url, JSON_FEED, "application/feed+json", "?mode=annotate&threshold=0.0")
    items = as_json.json()["items"]
    assert [i.get("_clickbait", {}).get("label") for i in items] == ["clickbait", "clickbait", "news"]
    sniffed = post_feed(server.url, RSS, "application/octet-stream")
    assert sniffed.status_code == 200 and BAIT_TITLE.encode() not in sniffed.content


def test_site_rules_per_request_and_configured(shared_server) -> None:
    running = shared_server(feed_allow_sites=["farm.example.com"])
    kept = post_feed(running.url, RSS, "application/rss+xml", "?mode=annotate&block=news.example.ro")
    root = feedparser.parse(kept.content)
    assert [[t.term for t in e.tags] for e in root.entries] == [["clickbait"], ["news"]]
    assert b"<clickbait:rule>block:news.example.ro</clickbait:rule>" in kept.content
    assert b"<clickbait:rule>allow:farm.example.com</clickbait:rule>" in kept.content


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error_type"),
    [
        (
            '<!DOCTYPE x [<!ENTITY a "b">]><rss><channel><title>&a;</title></channel></rss>',
            "application/rss+xml",
            400,
            "unsafe_xml",
        ),
        ("<rss><channel>", "application/rss+xml", 400, "malformed_feed"),
        ("hello", "application/octet-stream", 415, "not_a_feed"),
        ("hello", "text/plain", 415, "unsupported_media_type"),  # what any page may POST cross-site
        ('{"a": 1}', "application/json", 422, "not_a_feed"),
        (rss_with_items(10_001), "application/rss+xml", 413, "too_many_items"),
    ],
)
def test_bad_feeds_get_the_error_shape(server, body, content_type, status, error_type) -> None:
    response = post_feed(server.url, body, content_type)
    assert response.status_code == status and response.json()["error_type"] == error_type


def test_feed_and_page_body_size_limits(shared_server) -> None:
    running = shared_server(feed_max_bytes=4096, page_max_bytes=4096)
    response = post_feed(running.url, rss_with_items(500), "application/rss+xml")
    assert response.status_code == 413 and response.json()["error_type"] == "payload_too_large"
    page = httpx.post(
        f"{running.url}/v1/page", content=SEED_LIKE_PAGE.encode() * 3, headers={"Content-Type": "text/html"}
    )
    assert page.status_code == 413 and "4096 bytes" in page.json()["error"]


def test_proxy_fetches_filters_and_follows_checked_redirects(shared_server, upstream) -> None:
    running = shared_server(feed_fetch=True, feed_allowed_hosts=["127.0.0.1"])
    for path in ("/feed.xml", "/hop"):
        response = httpx.get(f"{running.url}/v1/filter", params={"url": upstream + path}, timeout=30)
        assert response.status_code == 200, response.text
        assert [e.title for e in feedparser.parse(response.content).entries] == [NEWS_TITLE]
    many = httpx.get(
        f"{running.url}/v1/filter", params={"url": upstream + "/huge", "mode": "annotate"}, timeout=60
    )
    assert many.status_code == 200 and len(feedparser.parse(many.content).entries) == 3000  # > one request
    broken = httpx.get(f"{running.url}/v1/filter", params={"url": upstream + "/broken"}, timeout=30)
    assert broken.status_code == 502 and "500" in broken.json()["error"]
    elsewhere = httpx.get(f"{running.url}/v1/filter", params={"url": upstream + "/to-localhost"}, timeout=30)
    assert elsewhere.status_code == 403 and elsewhere.json()["error_type"] == "host_not_allowed"


READER_KEY = "feed-reader-key"


def _link_fields(link: str, server: str) -> dict[str, str]:
    assert link.startswith(f"{server}/v1/feed-label?"), link
    return {name: values[0] for name, values in parse_qs(urlsplit(link).query).items()}


def test_proxy_annotates_each_format_with_label_links_for_a_feed_token(shared_server, upstream) -> None:
    running = shared_server(
        admin_keys=f"reader:{READER_KEY}", feed_fetch=True, feed_allowed_hosts=["127.0.0.1"]
    )
    url, key = running.url, {"Authorization": f"Bearer {READER_KEY}"}
    taught = [{"headline": NEWS_TITLE, "label": "news"}, {"headline": BAIT_TITLE, "label": "clickbait"}]
    assert httpx.post(f"{url}/v1/labels", json={"labels": taught}, headers=key).status_code == 200
    token = httpx.get(f"{url}/v1/personal", headers=key).json()["feed_token"]
    proxy = f"{url}/v1/filter"
    links = {"rss": 0, "rdf": 0, "atom": 0, "json": 0}
    for kind, path in (("rss", "/feed.xml"), ("rdf", "/rdf"), ("atom", "/atom")):
        feed = {"url": upstream + path, "mode": "annotate", "personal": token}
        answer = httpx.get(proxy, params=feed, timeout=30)
        assert answer.status_code == 200, answer.text
        parsed = feedparser.parse(answer.content)
        assert not parsed.bozo, (kind, parsed.bozo_exception)  # still a well-formed feed of its kind
        items = [
            n
            for n in etree.fromstring(answer.content).iter()
            if etree.QName(n).localname in ("item", "entry")
        ]
        assert len(items) == len(parsed.entries) == 2  # flagged or not, each item
        for node, entry in zip(items, parsed.entries, strict=True):
            found = {n.get("label"): n.text for n in node.iter("{urn:x-clickbait:feed:1}label_link")}
            assert sorted(found) == ["clickbait", "news"]
            for label, link in found.items():
                assert _link_fields(link, url) == {
                    "token": token,
                    "headline": entry.title,
                    "label": label,
                    "source": urlsplit(entry.link).hostname,  # where: the item's site
                }
            shown = entry.get("content", [{}])[0].get("value") or entry.summary  # what the reader shows
            teaser, news = (found[label].replace("&", "&amp;") for label in ("clickbait", "news"))
            assert f'<a href="{teaser}">Teaser</a>' in shown and f'<a href="{news}">News</a>' in shown
            links[kind] += 1
    as_json = httpx.get(proxy, params={"url": upstream + "/feed.json", "mode": "annotate", "personal": token})
    for item in as_json.json()["items"]:
        if "title" not in item:  # nothing to label
            assert "label_links" not in item["_clickbait"] and "content_html" not in item
            continue
        found = item["_clickbait"]["label_links"]
        for label, link in found.items():
            assert _link_fields(link, url) == {
                "token": token,
                "headline": item["title"],
                "label": label,
                "source": urlsplit(item["url"]).hostname,
            }
            assert f'href="{link.replace("&", "&amp;")}"' in item["content_html"]
        links["json"] += 1
    assert links == {"rss": 2, "rdf": 2, "atom": 2, "json": 2}

    without = httpx.get(proxy, params={"url": upstream + "/feed.xml", "mode": "annotate"}, timeout=30)
    dropping = httpx.get(proxy, params={"url": upstream + "/feed.xml", "personal": token}, timeout=30)
    for answer in (without, dropping):  # links need both the token and annotate mode
        assert answer.status_code == 200 and b"feed-label" not in answer.content
    assert (
        httpx.get(
            proxy, params={"url": upstream + "/feed.xml", "mode": "annotate", "personal": "x"}
        ).status_code
        == 403
    )


def test_proxy_refuses_ssrf_targets(shared_server, upstream) -> None:
    off = shared_server()
    assert httpx.get(f"{off.url}/v1/filter", params={"url": upstream + "/feed.xml"}).status_code == 403
    any_public = shared_server(feed_fetch=True, feed_allowed_hosts=["*"])
    for target in (upstream + "/feed.xml", "http://localhost:9/x", "http://[::1]:9/x", "file:///etc/passwd"):
        response = httpx.get(f"{any_public.url}/v1/filter", params={"url": target}, timeout=30)
        assert response.status_code in (400, 403), (target, response.text)
        assert response.json()["error_type"] in ("address_not_allowed", "bad_url")
    only_one = shared_server(feed_fetch=True, feed_allowed_hosts=["feeds.example.org"])
    response = httpx.get(f"{only_one.url}/v1/filter", params={"url": upstream + "/feed.xml"})
    assert response.status_code == 403 and response.json()["error_type"] == "host_not_allowed"


def _signed(payload: object) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


ENTRIES = {
    "event_type": "new_entries",
    "feed": {"id": 7, "title": "f"},
    "entries": [
        {"id": 11, "title": NEWS_TITLE, "url": "https://news.example.ro/a"},
        {"id": 12, "title": BAIT_TITLE, "url": "https://farm.example.com/b"},
    ],
}


def test_miniflux_webhook_checks_signatures_and_marks_read(make_server, upstream) -> None:
    running = make_server(
        miniflux_webhook_secret=SECRET, miniflux_url=upstream + "/miniflux", miniflux_token="tok-123"
    )
    body, signature = _signed(ENTRIES)
    url = f"{running.url}/v1/integrations/miniflux"
    headers = {"Content-Type": "application/json", "X-Miniflux-Event-Type": "new_entries"}
    missing = httpx.post(url, content=body, headers=headers)
    assert missing.status_code == 401 and missing.json()["error_type"] == "missing_signature"
    bad = httpx.post(url, content=body, headers={**headers, "X-Miniflux-Signature": "0" * 64})
    assert bad.status_code == 403 and bad.json()["error_type"] == "bad_signature"
    good = httpx.post(url, content=body, headers={**headers, "X-Miniflux-Signature": signature}, timeout=30)
    assert good.status_code == 200, good.text
    assert [e["id"] for e in good.json()["clickbait"]] == [12] and good.json()["marked_read"] is True
    method, path, sent_headers, sent = Upstream.received[-1]
    assert (method, path) == ("PUT", "/miniflux/v1/entries") and sent_headers["X-Auth-Token"] == "tok-123"
    assert json.loads(sent) == {"entry_ids": [12], "status": "read"}


def test_miniflux_payloads_of_the_wrong_shape_are_answered_not_500(shared_server) -> None:
    """A signed body with entries that are no list, or a JSON array with the event header, or links
    that are numbers or unsplittable URLs, raised TypeError/AttributeError/ValueError before."""
    url = f"{shared_server(miniflux_webhook_secret=SECRET).url}/v1/integrations/miniflux"
    payloads = [
        [1, 2],
        {"entries": 5},
        {"entries": "x"},
        {"entries": [{"id": 1, "title": NEWS_TITLE, "url": 7}, {"id": 2, "title": 3, "url": "http://[x"}]},
    ]
    for payload in payloads:
        body, signature = _signed(payload)
        response = httpx.post(
            url,
            content=body,
            timeout=30,
            headers={"X-Miniflux-Signature": signature, "X-Miniflux-Event-Type": "new_entries"},
        )
        assert response.status_code == 200, (payload, response.text)


def test_miniflux_without_a_secret_is_off(server) -> None:
    """Not configured is not a transient outage (503): the route is absent until it is set up."""
    response = httpx.post(f"{server.url}/v1/integrations/miniflux", json=ENTRIES)
    assert response.status_code == 404 and response.json()["error_type"] == "not_configured"
    assert "CLICKBAIT_MINIFLUX_WEBHOOK_SECRET" in response.json()["error"]


def test_page_route_scores_headlines_by_role(server) -> None:
    response = httpx.post(
        f"{server.url}/v1/page",
        params={"url": "https://www.example.ro/a"},
        content=SEED_LIKE_PAGE.encode(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    roles = [h["role"] for h in body["headlines"]]
    assert roles == ["main", "related", "related", "teaser", "teaser", "teaser"]
    flagged = [h["headline"] for h in body["headlines"] if h["label"] == "clickbait"]
    assert len(flagged) == 1 and flagged[0].startswith(TRIGGER)
    wrong = httpx.post(f"{server.url}/v1/page", json={"html": "x"})
    assert wrong.status_code == 415


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_cli_filter_feed_and_page(tmp_path, known_model, upstream) -> None:
    source = tmp_path / "feed.xml"
    source.write_text(RSS, encoding="utf-8")
    out = tmp_path / "clean.xml"
    result = _cli("filter-feed", str(source), "-o", str(out), "--model", str(known_model))
    assert result.returncode == 0, result.stderr
    assert [e.title for e in feedparser.parse(out.read_bytes()).entries] == [NEWS_TITLE]
    fetched = _cli("filter-feed", upstream + "/atom", "--mode", "annotate", "--model", str(known_model))
    assert fetched.returncode == 0 and len(feedparser.parse(fetched.stdout).entries) == 2
    page = tmp_path / "page.html"
    page.write_text(SEED_LIKE_PAGE, encoding="utf-8")
    listed = _cli("page", str(page), "--model", str(known_model))
    rows = [json.loads(line) for line in listed.stdout.decode().splitlines()]
    assert [r["role"] for r in rows][:2] == ["main", "related"] and sum(
        r["label"] == "clickbait" for r in rows
    ) == 1
    bad = _cli("filter-feed", str(tmp_path / "nope.xml"))
    assert bad.returncode == 2 and b"no such file" in bad.stderr


@pytest.mark.slow
def test_default_model_filters_a_feed(tmp_path) -> None:
    """The real bundled model on the command line: the tabloid teaser outscores the plain news."""
    feed = RSS.replace(BAIT_TITLE, "You won't believe what this actress looks like now! 17 photos")
    source = tmp_path / "feed.xml"
    source.write_text(feed, encoding="utf-8")
    result = _cli("filter-feed", str(source), "--mode", "annotate")
    assert result.returncode == 0, result.stderr
    parsed = feedparser.parse(result.stdout)
    assert [[t.term for t in e.tags] for e in parsed.entries] == [["news"], ["clickbait"]]
