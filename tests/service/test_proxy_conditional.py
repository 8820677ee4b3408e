"""The feed proxy answers conditional GETs and asks its upstream conditionally: a real server of the
known model, and a local upstream that honours If-None-Match / If-Modified-Since and records every
request it gets."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import feedparser
import httpx
import pytest

from service.feeds.decisions import Policy
from service.feeds.fetch import Fetched, Validators
from service.feeds.proxy_cache import FeedCache, entity_tag
from service.settings import ServiceSettings
from tests.support.feed_docs import BAIT_TITLE, NEWS_TITLE, RSS
from tests.support.upstream import Upstream, serve

CHANGED_TITLE = "Primăria a deschis un parc nou în cartier"


@pytest.fixture(params=[True, False], ids=["upstream-validators", "no-upstream-validators"])
def upstream(request: pytest.FixtureRequest) -> Iterator[Upstream]:
    feed = Upstream(RSS.encode(), validators=request.param)
    server = serve(feed)
    yield feed
    server.shutdown()


@pytest.fixture()
def proxy(shared_server) -> str:
    return f"{shared_server(feed_fetch=True, feed_allowed_hosts=['127.0.0.1']).url}/v1/filter"


def poll(
    proxy: str, upstream: Upstream, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    return httpx.get(proxy, params={"url": upstream.url, **params}, headers=headers or {}, timeout=30)


def test_a_second_poll_of_an_unchanged_feed_is_one_conditional_request_and_304(
    proxy: str, upstream: Upstream
) -> None:
    first = poll(proxy, upstream)
    assert first.status_code == 200, first.text
    assert [e.title for e in feedparser.parse(first.content).entries] == [NEWS_TITLE]
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    assert tag.startswith('"') and upstream.asked == [{}]

    second = poll(proxy, upstream, {"If-None-Match": tag})
    assert second.status_code == 304 and second.content == b""
    assert (second.headers["etag"], second.headers["last-modified"]) == (tag, modified)
    expected = {"If-None-Match": '"v1"', "If-Modified-Since": formatdate(1_700_000_001, usegmt=True)}
    # an upstream without validators is asked in full again; its body is the same, so the answer too
    assert upstream.asked == [{}, expected if upstream.validators else {}]

    by_date = poll(proxy, upstream, {"If-Modified-Since": modified})
    assert by_date.status_code == 304 and by_date.headers["etag"] == tag
    weak_among_others = poll(proxy, upstream, {"If-None-Match": f'"other", W/{tag}'})
    assert weak_among_others.status_code == 304

    upstream.change(RSS.replace(NEWS_TITLE, CHANGED_TITLE).encode())
    changed = poll(proxy, upstream, {"If-None-Match": tag, "If-Modified-Since": modified})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert [e.title for e in feedparser.parse(changed.content).entries] == [CHANGED_TITLE]
    assert upstream.asked[-1] == (
        {"If-None-Match": '"v1"', "If-Modified-Since": formatdate(1_700_000_001, usegmt=True)}
        if upstream.validators
        else {}
    )
    stale_date = poll(proxy, upstream, {"If-Modified-Since": modified})
    assert stale_date.status_code == 200 and stale_date.headers["etag"] == changed.headers["etag"]


@pytest.mark.parametrize("upstream", [True], indirect=True, ids=["upstream-validators"])
def test_the_etag_names_the_filter_parameters(proxy: str, upstream: Upstream) -> None:
    dropped = poll(proxy, upstream)
    tag = dropped.headers["etag"]
    variants = [
        {"mode": "annotate"},
        {"threshold": "0.99"},
        {"block": "news.example.ro"},
        {"allow": "x.example"},
    ]
    tags = {tag}
    for params in variants:
        answer = poll(proxy, upstream, {"If-None-Match": tag}, **params)
        assert answer.status_code == 200, params
        tags.add(answer.headers["etag"])
        again = poll(proxy, upstream, {"If-None-Match": answer.headers["etag"]}, **params)
        assert again.status_code == 304, params
    assert len(tags) == len(variants) + 1
    annotated = poll(proxy, upstream, mode="annotate")
    assert BAIT_TITLE in annotated.text and annotated.headers["x-clickbait-model"] == "known-1"


def test_the_cache_is_bounded_in_feeds_bytes_and_age() -> None:
    def fetched(body: bytes) -> Fetched:
        return Fetched(body, "application/rss+xml", "http://feeds.example/", Validators('"e"'))

    cache = FeedCache(ttl_s=3600, max_entries=2, max_bytes=10)
    for url in ("a", "b", "c"):
        cache.keep(url, fetched(b"123"), None)
    assert [cache.get(u) is not None for u in ("a", "b", "c")] == [False, True, True]  # oldest out
    cache.keep("big", fetched(b"0123456789x"), None)  # larger than the whole cache: not kept
    cache.keep("d", fetched(b"12345678"), None)  # b and c go to make room
    assert [cache.get(u) is not None for u in ("b", "c", "big", "d")] == [False, False, False, True]
    off = FeedCache(ttl_s=0, max_entries=2, max_bytes=10)
    off.keep("a", fetched(b"123"), None)
    assert off.get("a") is None


def test_the_etag_names_the_model_and_the_scoring_settings() -> None:
    settings, policy = ServiceSettings(), Policy()
    tag = entity_tag("digest", "model-1", "drop", policy, settings)
    assert tag == entity_tag("digest", "model-1", "drop", Policy(), ServiceSettings())  # any process
    others = [
        entity_tag("digest", "model-2", "drop", policy, settings),
        entity_tag("digest", "model-1", "drop", policy, ServiceSettings(teaser_kinds=["bait"])),
        entity_tag("digest", "model-1", "drop", Policy(drop_unvalidated=True), settings),
        entity_tag("other", "model-1", "drop", policy, settings),
    ]
    assert len({tag, *others}) == 5


@pytest.mark.parametrize("upstream", [True], indirect=True, ids=["upstream-validators"])
def test_the_proxy_applies_the_rules_file_and_its_etag_follows_the_file(
    shared_server, upstream: Upstream, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text('drop author "Ana Popescu"\n')  # the news item's author
    proxy = (
        f"{shared_server(feed_fetch=True, feed_allowed_hosts=['127.0.0.1'], rules_file=rules).url}/v1/filter"
    )
    dropped = poll(proxy, upstream)
    assert dropped.status_code == 200 and feedparser.parse(dropped.content).entries == []
    assert dropped.headers["x-clickbait-dropped"] == "2"
    annotated = poll(proxy, upstream, mode="annotate")
    assert "<clickbait:decided_by>rule:rules.txt:1</clickbait:decided_by>" in annotated.text
    assert "<clickbait:decided_by>model</clickbait:decided_by>" in annotated.text

    rules.write_text('keep path "/vedeta"\n')  # the clickbait item's path
    os.utime(rules, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    kept = poll(proxy, upstream, {"If-None-Match": dropped.headers["etag"]})
    assert kept.status_code == 200 and kept.headers["etag"] != dropped.headers["etag"]
    assert [e.title for e in feedparser.parse(kept.content).entries] == [NEWS_TITLE, BAIT_TITLE]
