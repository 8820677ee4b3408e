"""Personal layers on a real server: a reader's labels change that reader's answers only (scores,
feeds, pages), their export, and their deletion; and the store underneath on each database backend.

The known model scores every headline without its trigger word alike and its vectors carry nothing
else, so what a layer learns here it learns from the words of the reader's labels."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from lxml import etree
from sqlalchemy import Engine

from service.store.db import make_engine, migrate
from service.store.label_store import LabelStore, NewLabel
from service.store.personal_store import PersonalStore
from tests.support.servers import Running, empty_store
from tests.support.upstream import Upstream, serve

ANA, BO = "ana-key-for-tests", "bo-key-for-tests"
AS_ANA, AS_BO = {"Authorization": f"Bearer {ANA}"}, {"Authorization": f"Bearer {BO}"}
TASTE = [  # ana finds every headline about the Kardashians bait; the rest is news to her
    ("Kardashian buys a castle in Scotland", "clickbait"),
    ("Kardashian sisters argue on a yacht", "clickbait"),
    ("Kardashian reveals her morning routine", "clickbait"),
    ("Kardashian wears a dress of spoons", "clickbait"),
    ("Parliament passes the budget", "news"),
    ("Central bank keeps rates unchanged", "news"),
    ("Floods close the northern motorway", "news"),
    ("Court rules on the port contract", "news"),
]
UNSEEN = ["Kardashian opens a bakery in Paris", "Ministers meet on the grain deal"]
FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    + "".join(
        f"<item><title>{h}</title><link>https://example.org/{i}</link></item>" for i, h in enumerate(UNSEEN)
    )
    + "</channel></rss>"
)


@pytest.fixture()
def readers(shared_server) -> Running:
    running = shared_server(admin_keys=f"ana:{ANA},bo:{BO}")
    empty_store(running)
    return running


def scores(url: str, headers: dict | None = None, **extra) -> list[dict]:
    response = httpx.post(f"{url}/v1/score", json={"headlines": UNSEEN, **extra}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def teach(url: str, headers: dict, **extra) -> dict:
    labels = [{"headline": h, "label": label} for h, label in TASTE]
    response = httpx.post(f"{url}/v1/labels", json={"labels": labels, **extra}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_readers_labels_change_their_answers_and_no_one_elses(readers: Running) -> None:
    url = readers.url
    before = {
        name: scores(url, headers) for name, headers in (("ana", AS_ANA), ("bo", AS_BO), ("anyone", None))
    }
    assert before["ana"] == before["bo"] == before["anyone"]
    assert [r["label"] for r in before["ana"]] == ["news", "news"]

    learnt = teach(url, AS_ANA)["personal"]
    assert learnt["reader"] == "ana" and learnt["labels"] == len(TASTE) and learnt["fitted_at"]

    mine = scores(url, AS_ANA)
    assert mine[0]["label"] == "clickbait" and mine[0]["decided_by"] == "personal"
    assert mine[0]["personal"]["changed"] is True
    assert mine[0]["personal"]["shared_score"] == before["anyone"][0]["score"]
    assert mine[0]["personal"]["nearest"][0]["headline"].startswith("Kardashian")
    assert mine[1]["label"] == "news" and mine[1]["personal"]["changed"] is False
    assert scores(url, AS_BO) == before["bo"]  # not a digit of anyone else's answer moves
    assert scores(url) == before["anyone"]
    assert scores(url, {"Authorization": "Basic YTpi"}) == before["anyone"]  # not a key of this service
    wrong = httpx.post(
        f"{url}/v1/score", json={"headlines": UNSEEN}, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 403  # a typo in a key is said, not answered as nobody's
    assert scores(url, AS_ANA, profile="laptop") == before["ana"]  # a profile of hers has its own

    feed = {"Content-Type": "application/rss+xml"}
    hers = httpx.post(f"{url}/v1/filter?mode=drop", content=FEED, headers=feed | AS_ANA)
    others = httpx.post(f"{url}/v1/filter?mode=drop", content=FEED, headers=feed | AS_BO)
    assert hers.headers["x-clickbait-dropped"] == "1" and "Kardashian" not in hers.text
    assert others.headers["x-clickbait-dropped"] == "0" and "Kardashian" in others.text
    annotated = httpx.post(f"{url}/v1/filter?mode=annotate", content=FEED, headers=feed | AS_ANA).text
    assert "<clickbait:decided_by>personal</clickbait:decided_by>" in annotated
    blocked = httpx.post(f"{url}/v1/filter?block=example.org", content=FEED, headers=feed | AS_ANA)
    assert blocked.headers["x-clickbait-dropped"] == "2"  # nothing left for the layer: rules alone


def test_a_profile_learns_apart_and_deleting_its_labels_removes_its_layer(readers: Running) -> None:
    url = readers.url
    shared = scores(url)
    assert teach(url, AS_ANA, profile="laptop")["personal"]["reader"] == "ana/laptop"
    assert scores(url, AS_ANA, profile="laptop")[0]["label"] == "clickbait"
    assert scores(url, AS_ANA) == shared  # the key's own layer is another reader's

    exported = httpx.get(f"{url}/v1/personal?profile=laptop", headers=AS_ANA).json()
    assert exported["reader"] == "ana/laptop" and len(exported["labels"]) == len(TASTE)
    assert exported["layer"]["headlines"] == [h for h, _ in TASTE] and exported["model"]

    deleted = httpx.delete(f"{url}/v1/personal?profile=laptop", headers=AS_ANA).json()
    assert deleted == {"reader": "ana/laptop", "labels_deleted": len(TASTE), "layer_deleted": True}
    assert scores(url, AS_ANA, profile="laptop") == shared
    gone = httpx.get(f"{url}/v1/personal?profile=laptop", headers=AS_ANA).json()
    assert gone["layer"] is None and gone["labels"] == []
    assert httpx.delete(f"{url}/v1/personal", headers={"Authorization": "Bearer wrong"}).status_code == 403


def test_a_proxy_url_with_the_readers_feed_token_is_filtered_by_their_layer(shared_server) -> None:
    running = shared_server(
        admin_keys=f"ana:{ANA},bo:{BO}", feed_fetch=True, feed_allowed_hosts=["127.0.0.1"]
    )
    empty_store(running)
    upstream = Upstream(FEED.encode())
    host = serve(upstream)
    try:
        teach(running.url, AS_ANA)
        token = httpx.get(f"{running.url}/v1/personal", headers=AS_ANA).json()["feed_token"]
        proxy = f"{running.url}/v1/filter"
        hers = httpx.get(proxy, params={"url": upstream.url, "personal": token}, timeout=30)
        anyone = httpx.get(proxy, params={"url": upstream.url}, timeout=30)
        assert hers.headers["x-clickbait-dropped"] == "1" and "Kardashian" not in hers.text
        assert anyone.headers["x-clickbait-dropped"] == "0" and "Kardashian" in anyone.text
        assert hers.headers["etag"] != anyone.headers["etag"]  # a reader's 304 never hides another's feed
        assert httpx.get(proxy, params={"url": upstream.url, "personal": "guess"}).status_code == 403
        httpx.delete(f"{running.url}/v1/personal", headers=AS_ANA)
        assert httpx.get(proxy, params={"url": upstream.url, "personal": token}).status_code == 403
    finally:
        host.shutdown()


def label_link(annotated: bytes, title: str, label: str) -> str:
    """The URL of an annotated RSS item's label link."""
    item = next(i for i in etree.fromstring(annotated).iter("item") if i.findtext("title") == title)
    return item.find(f"{{urn:x-clickbait:feed:1}}label_link[@label='{label}']").text


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """A label page's form: where it posts, and its hidden fields (unescaped)."""
    action = re.search(r'<form method="post" action="([^"]*)">', page).group(1)
    fields = re.findall(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">', page)
    return unescape(action), {name: unescape(value) for name, value in fields}


def test_a_label_link_in_the_proxied_feed_asks_first_then_teaches_its_reader(shared_server) -> None:
    running = shared_server(
        admin_keys=f"ana:{ANA},bo:{BO}", feed_fetch=True, feed_allowed_hosts=["127.0.0.1"]
    )
    empty_store(running)
    upstream = Upstream(FEED.encode())
    host = serve(upstream)
    url, missed = running.url, UNSEEN[1]  # news to the model; bait to ana, who reports the miss
    try:
        teach(url, AS_ANA)
        mine = httpx.get(f"{url}/v1/personal", headers=AS_ANA).json()
        proxy, feed = f"{url}/v1/filter", {"url": upstream.url, "personal": mine["feed_token"]}
        annotated = httpx.get(proxy, params={**feed, "mode": "annotate"}, timeout=30)
        assert annotated.status_code == 200
        link = label_link(annotated.content, missed, "clickbait")
        assert link.startswith(f"{url}/v1/feed-label?")
        assert parse_qs(urlsplit(link).query) == {
            "token": [mine["feed_token"]],
            "headline": [missed],
            "label": ["clickbait"],
            "source": ["example.org"],
        }
        before = scores(url, AS_ANA)[1]

        asked = httpx.get(link)  # what a feed reader's prefetch or a mail scanner does: nothing stored
        assert asked.status_code == 200 and asked.headers["content-type"].startswith("text/html")
        assert (
            asked.headers["cache-control"] == "no-store" and asked.headers["referrer-policy"] == "no-referrer"
        )
        assert missed in asked.text and "Label it Teaser" in asked.text
        again = httpx.get(f"{url}/v1/personal", headers=AS_ANA).json()
        assert again["labels"] == mine["labels"] and again["fitted_at"] == mine["fitted_at"]

        action, fields = form_of(asked.text)
        assert fields == {"token": mine["feed_token"], "headline": missed, "label": "clickbait"} | {
            "source": "example.org"
        }
        saved = httpx.post(urljoin(link, action), data=fields)  # the button
        assert saved.status_code == 200 and "Saved: Teaser" in saved.text, saved.text
        after = httpx.get(f"{url}/v1/personal", headers=AS_ANA).json()
        assert len(after["labels"]) == len(TASTE) + 1 and after["fitted_at"] != mine["fitted_at"]
        label = after["labels"][-1]
        assert (label["headline"], label["label"], label["by"], label["source"]) == (
            missed,
            "clickbait",
            "ana",
            "example.org",
        )
        now = scores(url, AS_ANA)[1]
        assert now["score"] > before["score"] and now["label"] == "clickbait", (before, now)
        assert scores(url, AS_BO)[1]["label"] == "news"  # bo's answers are not hers
        refetched = httpx.get(proxy, params={**feed, "mode": "annotate"}, timeout=30)
        assert refetched.headers["etag"] != annotated.headers["etag"]  # her layer changed: so did the feed
    finally:
        host.shutdown()


def test_label_links_refuse_unknown_tokens_and_bad_labels_and_escape_what_they_show(shared_server) -> None:
    running = shared_server(admin_keys=f"ana:{ANA},bo:{BO}")
    empty_store(running)
    url = running.url
    teach(url, AS_ANA)
    token = httpx.get(f"{url}/v1/personal", headers=AS_ANA).json()["feed_token"]
    page = f"{url}/v1/feed-label"
    fields = {"token": token, "headline": "<script>alert(1)</script> & more", "label": "news"}
    shown = httpx.get(page, params={**fields, "source": 'https://x.example/"><b>'})
    assert shown.status_code == 200
    assert "<script>" not in shown.text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in shown.text
    assert "<b>" not in shown.text and "&quot;&gt;&lt;b&gt;" in shown.text

    for method in ("GET", "POST"):
        send = {"params": fields} if method == "GET" else {"data": fields}
        wrong = httpx.request(method, page, **{k: {**v, "token": "guess"} for k, v in send.items()})
        assert wrong.status_code == 403 and wrong.json()["error_type"] == "forbidden"
        bad = httpx.request(method, page, **{k: {**v, "label": "maybe"} for k, v in send.items()})
        assert bad.status_code == 422 and bad.json()["error_type"] == "validation_error", bad.text
        long = httpx.request(method, page, **{k: {**v, "headline": "x" * 1001} for k, v in send.items()})
        assert long.status_code == 422 and long.json()["error_type"] == "headline_too_long"
    as_json = httpx.post(page, json=fields)  # the form's own type only
    assert as_json.status_code == 415 and as_json.json()["error_type"] == "unsupported_media_type"
    assert len(httpx.get(f"{url}/v1/personal", headers=AS_ANA).json()["labels"]) == len(TASTE)


@pytest.fixture()
def engine_at_head(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_readers_labels_and_layers_are_stored_apart(engine_at_head: Engine) -> None:
    labels, layers = LabelStore(engine_at_head), PersonalStore(engine_at_head)
    labels.add([NewLabel("Budget approved", "news"), NewLabel("You won't believe it", "clickbait")], "ana")
    labels.add([NewLabel("Budget approved", "clickbait")], "ana")  # her latest label counts
    labels.add([NewLabel("Budget approved", "news")], "ana", "ana/laptop")
    assert [(r.headline, r.label) for r in labels.reader_labels("ana", 10)] == [
        ("You won't believe it", "clickbait"),
        ("Budget approved", "clickbait"),
    ]
    assert [r.label for r in labels.reader_labels("ana/laptop", 10)] == ["news"]
    assert len(labels.reader_labels("ana", 1)) == 1

    fitted = layers.put("ana", "v1", 2, {"bias": 0.5})
    assert layers.fitted_at("ana") == fitted and layers.get("ana").layer == {"bias": 0.5}
    token = layers.get("ana").feed_token
    assert layers.put("ana", "v2", 3, {"bias": 1.0}) >= fitted and layers.get("ana").model == "v2"
    assert layers.get("ana").feed_token == token and layers.reader_of_token(token) == "ana"  # kept

    assert labels.delete_reader("ana") == 3 and labels.reader_labels("ana", 10) == []
    assert labels.count() == 1  # the profile's label stays
    assert layers.delete("ana") and layers.fitted_at("ana") is None and not layers.delete("ana")
    assert layers.reader_of_token(token) is None
