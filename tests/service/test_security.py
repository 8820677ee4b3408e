"""The security review's findings (docs/security.md), each against a real server; hostile upstreams
are local HTTP servers, and the rebinding resolver a stub (no name here answers twice otherwise)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from sqlalchemy import select

from service.api.app import create_app
from service.api.guards import header_deadline_protocol
from service.feeds import fetch as fetching
from service.feeds.fetch import FetchError, FetchPolicy
from service.feeds.page_headlines import MAX_DEPTH, MAX_TAGS, deepest_nesting
from service.runtime import batcher as batcher_module
from service.runtime.batcher import MicroBatcher, client_of_request
from service.runtime.prometheus import ServiceMetrics
from service.settings import ServiceSettings
from service.store.db import make_engine, migrate
from service.store.headline_pool import HeadlinePool
from service.store.label_files import read_labels
from service.store.label_store import LabelStore, NewLabel
from service.store.tables import Label
from tests.support.models import TRIGGER
from training.data import DataError

NEWS = "Parliament approves the budget after a long debate"
KEY = "editor:s3cret-key"


def test_explain_counts_model_inputs_not_headlines(server) -> None:
    """Eight headlines of 333 two-letter words were 2,672 model inputs; now each costs one input per
    word the model reads (its token cap), and the request's total is bounded."""
    long = " ".join(["ab"] * 333)
    response = httpx.post(
        f"{server.url}/v1/score", json={"headlines": [long] * 8, "explain": True}, timeout=60
    )
    assert response.status_code == 413 and response.json()["error_type"] == "too_many_to_explain"
    assert "model inputs" in response.json()["error"]
    one = httpx.post(f"{server.url}/v1/explain", json={"headline": long}, timeout=60).json()["results"][0]
    assert len(one["words"]) == 333  # every word answered; those past the cap contribute 0
    assert sum(w["contribution"] != 0 for w in one["words"]) < 64
    assert all(w["contribution"] == 0 for w in one["words"][64:])


def test_a_small_request_goes_before_a_large_one_queued_first(make_server) -> None:
    """The batcher takes the smallest waiting request first, and large requests reach it in pieces:
    a one-headline request queued behind 8,000 headlines is answered before them."""
    running = make_server(max_batch=32, batch_wait_ms=5, cache_size=0, max_headlines=2000, queue_size=10_000)
    done: dict[str, float] = {}

    def post(name: str, headlines: list[str]) -> None:
        httpx.post(f"{running.url}/v1/score", json={"headlines": headlines}, timeout=120).raise_for_status()
        done[name] = time.monotonic()

    many = [f"{NEWS} number {i}" for i in range(2000)]
    large = [threading.Thread(target=post, args=(f"large{i}", many)) for i in range(4)]
    for thread in large:
        thread.start()
    time.sleep(0.2)
    post("small", [f"{TRIGGER} one more"])
    for thread in large:
        thread.join()
    assert all(done["small"] < done[f"large{i}"] for i in range(4)), done


def test_a_flooding_client_waits_for_its_own_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight clients kept the model busy with the largest requests allowed; once their pieces had
    waited 2 s they went before a reader's fresh headline, which waited 2.2 s. The model is shared
    by client now: the least served goes first, whatever the others' age and size."""
    monkeypatch.setattr(batcher_module, "AGED_S", 0.2)  # pieces age in 0.2 s instead of 2 s
    gate, calls = threading.Event(), []

    class Model:  # records each model call's headlines; waits at the gate while it is shut
        def scores(self, texts, langs):
            gate.wait(10)
            calls.append(list(texts))
            return np.zeros((len(texts), 1))

    async def scenario() -> None:
        batcher = MicroBatcher(Model, ServiceMetrics(), max_batch=32, max_wait_s=0)
        await batcher.start()

        def ask(client: str, texts: list[str]) -> asyncio.Task:
            token = client_of_request.set(client)  # the task keeps the client it was made with
            try:
                return asyncio.create_task(batcher.score(texts))
            finally:
                client_of_request.reset(token)

        gate.set()  # every flooding client has been served lately ...
        await asyncio.gather(*(ask(f"10.0.0.{i + 2}", ["x"] * 128) for i in range(8)))
        gate.clear()
        busy = ask("10.0.0.99", ["the model is busy with this"])  # taken alone: a flood would not fit
        floods = [ask(f"10.0.0.{i + 2}", [f"flood {i}"] * 32) for i in range(8)]
        await asyncio.sleep(0.3)  # ... and its piece is aged
        reader = ask("10.0.0.1", ["a reader's headline", "and another"])
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.gather(busy, *floods, reader)
        await batcher.stop()

    asyncio.run(scenario())
    taken = [call[0] for call in calls[8:]]  # after the eight clients' own 128 and the busy call
    assert taken[0] == "the model is busy with this" and calls[9] == ["a reader's headline", "and another"]
    assert sorted(taken[2:]) == [f"flood {i}" for i in range(8)]  # each in turn, none lost
    assert all(len(call) == 32 for call in calls[10:])


def test_deep_pages_are_refused_before_parsing(server) -> None:
    assert deepest_nesting("<div>" * 3000, stop=10**6) == 3000
    assert deepest_nesting("<div>" * 3000) == MAX_DEPTH + 1  # the walk ends once past the bound
    assert deepest_nesting("<p>a<p>b<br><img src=x><li>c" * 5000) == 0  # self-closing and auto-closed
    assert deepest_nesting("<div></div>" * 100_000) == 1
    assert deepest_nesting("<a" * 200_000) == 0  # linear: no tag ever closes
    started = time.monotonic()
    response = httpx.post(
        f"{server.url}/v1/page",
        content=b"<div>" * 1_000_000,
        headers={"Content-Type": "text/html"},
        timeout=60,
    )
    assert response.status_code == 422 and response.json()["error_type"] == "page_too_deep"
    assert time.monotonic() - started < 20  # the whole body parsed took ~40 min of a core
    assert str(MAX_TAGS) in response.json()["error"]  # refused by its tag count, before any walk
    deep = httpx.post(
        f"{server.url}/v1/page", content=b"<div>" * 3000, headers={"Content-Type": "text/html"}, timeout=60
    )
    assert deep.status_code == 422 and str(MAX_DEPTH) in deep.json()["error"]


def test_page_links_are_http_only(server) -> None:
    html = (
        "<ul>"
        + "".join(
            f'<li><a href="{href}">{TRIGGER} teaser number {i} about the city</a></li>'
            for i, href in enumerate(
                ["javascript:alert(1)", "file:///etc/passwd", "https://a.example/x", "/rel"]
            )
        )
        + "</ul>"
    )
    response = httpx.post(
        f"{server.url}/v1/page",
        params={"url": "https://news.example/p"},
        content=html.encode(),
        headers={"Content-Type": "text/html"},
        timeout=30,
    )
    links = [h["link"] for h in response.json()["headlines"]]
    assert links == [None, None, "https://a.example/x", "https://news.example/rel"]


def test_bodies_are_refused_at_the_limit_before_being_read(shared_server) -> None:
    running = shared_server(max_body_bytes=10_000)
    declared = _raw(
        running.url,
        b"POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 999999999\r\n\r\n{}",
    )
    assert declared.startswith(b"HTTP/1.1 413") and b"payload_too_large" in declared

    def chunks() -> Iterator[bytes]:
        yield b'{"headlines": ["'
        for _ in range(100):  # 100 kB, chunked, never declared: within the socket's buffers
            yield b"a" * 1000

    chunked = httpx.post(
        f"{running.url}/v1/score", content=chunks(), headers={"Content-Type": "application/json"}, timeout=30
    )
    assert chunked.status_code == 413 and chunked.json()["error_type"] == "payload_too_large"


def _raw(url: str, request: bytes, pause: float = 0.0, drip: bytes = b"") -> bytes:
    """Send ``request`` on a plain socket, then ``drip`` a byte at a time ``pause`` apart; the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        try:
            for byte in drip:
                time.sleep(pause)
                sock.sendall(bytes([byte]))
        except OSError:
            pass  # closed on us: what the test wants to see
        answer = b""
        while chunk := sock.recv(65536):  # until the server closes (each refusal does)
            answer += chunk
        return answer


def test_slow_bodies_get_408(shared_server) -> None:
    running = shared_server(body_timeout_s=1.0)
    head = (
        b"POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5000\r\n\r\n"
    )
    started = time.monotonic()
    answer = _raw(running.url, head, pause=0.2, drip=b'{"headlines": ["' + b"a" * 40)
    assert b" 408 " in answer.split(b"\r\n")[0] and time.monotonic() - started < 10


def test_slow_headers_are_cut_off() -> None:
    settings = ServiceSettings(model="default")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", http=header_deadline_protocol(1.0))
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        started = time.monotonic()
        answer = _raw(url, b"GET /health HTTP/1.1\r\n", pause=0.5, drip=b"X-Slow: " + b"a" * 40)
        assert answer == b"" and time.monotonic() - started < 8  # closed, not held for 20 s
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_wrong_keys_are_throttled(make_server) -> None:
    running = make_server(admin_keys=KEY, wrong_keys_per_minute=5)
    answers = [
        httpx.post(
            f"{running.url}/v1/labels", json={"labels": []}, headers={"Authorization": f"Bearer guess{i}"}
        )
        for i in range(8)
    ]
    assert [a.status_code for a in answers[:5]] == [403] * 5
    assert {a.status_code for a in answers[5:]} == {429}
    assert answers[-1].json()["error_type"] == "too_many_wrong_keys" and "retry-after" in answers[-1].headers


def test_host_header_must_name_this_service(shared_server) -> None:
    running = shared_server()
    assert httpx.get(f"{running.url}/health").status_code == 200
    for host in ("localhost:8000", "[::1]:8000"):
        assert httpx.get(f"{running.url}/health", headers={"Host": host}).status_code == 200
    rebound = httpx.get(f"{running.url}/v1/labels/export", headers={"Host": "attacker.example"})
    assert rebound.status_code == 400 and rebound.json()["error_type"] == "untrusted_host"
    named = shared_server(allowed_hosts=["clickbait.lan", "127.0.0.1"])
    assert httpx.get(f"{named.url}/health", headers={"Host": "clickbait.lan"}).status_code == 200
    assert httpx.get(f"{named.url}/health", headers={"Host": "localhost"}).status_code == 400


def test_reads_need_a_key_off_loopback() -> None:
    assert not ServiceSettings(host="127.0.0.1").reads_need_key
    assert ServiceSettings(host="0.0.0.0").reads_need_key
    assert not ServiceSettings(host="0.0.0.0", require_key_for_read=False).reads_need_key


def test_answers_cannot_be_sniffed_framed_or_scripted(server) -> None:
    page = httpx.get(f"{server.url}/")
    policy = page.headers["content-security-policy"]
    assert (
        "script-src 'sha256-" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    for response in (page, httpx.get(f"{server.url}/health"), httpx.get(f"{server.url}/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    docs = httpx.get(f"{server.url}/docs").text
    assert "swagger-ui-dist@5." in docs and docs.count('integrity="sha384-') == 2
    simple = httpx.post(f"{server.url}/v1/filter", content=b"<rss/>", headers={"Content-Type": "text/plain"})
    assert simple.status_code == 415 and simple.json()["error_type"] == "unsupported_media_type"


@pytest.mark.parametrize("encoding", ["shift_jis", "euc-jp", "gb18030", "big5", "utf-32", "utf-7"])
def test_feeds_in_multibyte_encodings_are_filtered(server, encoding: str) -> None:
    title = "台北天氣 今日"
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>https://a.example/1</link></item></channel></rss>"
    )
    response = httpx.post(
        f"{server.url}/v1/filter",
        params={"mode": "annotate"},
        content=xml.encode(encoding),
        headers={"Content-Type": "application/rss+xml"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert title in response.content.decode("utf-8")
    unknown = xml.replace(encoding, "x-no-such-encoding", 1).encode("utf-8")
    refused = httpx.post(
        f"{server.url}/v1/filter", content=unknown, headers={"Content-Type": "application/rss+xml"}
    )
    assert refused.status_code == 400 and refused.json()["error_type"] == "malformed_feed"


SECRET = "webhook-secret"


def _signed(payload: dict) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    return body, hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_miniflux_signatures_events_and_replays(make_server) -> None:
    url = f"{make_server(miniflux_webhook_secret=SECRET).url}/v1/integrations/miniflux"
    body, signature = _signed({"event_type": "new_entries", "entries": [{"id": 1, "title": NEWS}]})
    odd = httpx.post(url, content=body, headers=[(b"X-Miniflux-Signature", "é".encode() * 32)])
    assert odd.status_code == 403 and odd.json()["error_type"] == "bad_signature"
    forged_event = httpx.post(
        url, content=body, headers={"X-Miniflux-Signature": signature, "X-Miniflux-Event-Type": "save_entry"}
    )
    assert forged_event.status_code == 403
    first = httpx.post(url, content=body, headers={"X-Miniflux-Signature": signature}, timeout=30)
    assert first.status_code == 200 and first.json()["scored"] == 1
    again = httpx.post(url, content=body, headers={"X-Miniflux-Signature": signature}, timeout=30)
    assert again.json() == {"event": "new_entries", "ignored": True, "replayed": True}
    # a webhook body is a feed's worth of entries: the feed limit, not the JSON one, applies to it
    large, large_signature = _signed({"event_type": "save_entry", "pad": "x" * 3_000_000})
    answer = httpx.post(url, content=large, headers={"X-Miniflux-Signature": large_signature}, timeout=30)
    assert answer.status_code == 200 and answer.json()["ignored"] is True


class Hostile(BaseHTTPRequestHandler):
    """Upstreams that try to exhaust the proxy."""

    def do_GET(self) -> None:
        bomb = gzip.compress(b"<rss>" + b" " * 50_000_000)
        if self.path == "/bomb":
            self._send(bomb, "gzip")
        elif self.path == "/double":
            self._send(gzip.compress(bomb), "gzip, gzip")
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            try:
                for _ in range(30):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass

    def _send(self, body: bytes, encoding: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_proxy_bounds_inflation_and_time(shared_server, hostile: str) -> None:
    running = shared_server(
        feed_fetch=True, feed_allowed_hosts=["127.0.0.1"], feed_max_bytes=1_000_000, feed_timeout_s=2
    )
    bomb = httpx.get(f"{running.url}/v1/filter", params={"url": f"{hostile}/bomb"}, timeout=30)
    assert bomb.status_code == 413 and bomb.json()["error_type"] == "upstream_too_large"
    double = httpx.get(f"{running.url}/v1/filter", params={"url": f"{hostile}/double"}, timeout=30)
    assert double.status_code == 502 and "content encoding" in double.json()["error"]
    started = time.monotonic()
    drip = httpx.get(f"{running.url}/v1/filter", params={"url": f"{hostile}/drip"}, timeout=30)
    assert drip.status_code == 504 and time.monotonic() - started < 6  # the whole fetch, not each read


def test_proxy_connects_to_the_address_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: a name that resolves to a public address for the check and to 127.0.0.1 for
    the connection. Resolved once per hop, the request goes to the checked address; the stub's
    second answer is never asked for. (The send is stopped before it leaves: no traffic to a
    public address from here.)"""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    asked: list[str] = []

    async def resolve(host: str, port: int):
        import ipaddress

        asked.append(host)
        return [ipaddress.ip_address(a) for a in next(answers)]

    sent: list[httpx.Request] = []

    async def send(self, request: httpx.Request, **kwargs):
        sent.append(request)
        raise httpx.ConnectError("stopped by the test", request=request)

    monkeypatch.setattr(fetching, "_addresses", resolve)
    monkeypatch.setattr(httpx.AsyncClient, "send", send)
    with pytest.raises(FetchError):
        asyncio.run(fetching.fetch("https://rebind.example:8443/feed", FetchPolicy.of(["*"])))
    assert asked == ["rebind.example"]
    (request,) = sent
    assert str(request.url) == "https://93.184.215.14:8443/feed"
    assert request.headers["host"] == "rebind.example:8443"
    assert request.extensions["sni_hostname"] == "rebind.example"


@pytest.fixture()
def store_engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path}/data/labels.db")
    migrate(engine)
    yield engine, tmp_path / "data" / "labels.db"
    engine.dispose()


def test_data_files_are_the_owners(store_engine) -> None:
    engine, path = store_engine
    LabelStore(engine).add([NewLabel(NEWS, "news", "en", None)], "editor")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for sidecar in path.parent.glob("labels.db-*"):
        assert stat.S_IMODE(sidecar.stat().st_mode) & 0o077 == 0, sidecar


def test_a_nul_headline_does_not_lose_the_pool(store_engine) -> None:
    pool = HeadlinePool(store_engine[0], capacity=100)
    pool.queue([f"{NEWS} {i}" for i in range(50)] + ["bad \x00 headline"])
    assert pool.flush() == 50 and pool.count() == 50


def test_concurrent_label_writes_report_every_conflict(store_engine) -> None:
    store = LabelStore(store_engine[0])
    store.add([NewLabel(NEWS, "news", None, None)], "a")
    conflicts: list[int] = []

    def flip(i: int) -> None:
        _, found = store.add([NewLabel(NEWS, "clickbait" if i % 2 == 0 else "news", None, None)], f"w{i}")
        conflicts.append(len(found))

    threads = [threading.Thread(target=flip, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.sessions() as session:  # the labels in the order they were stored
        stored = [row.label for row in session.scalars(select(Label).order_by(Label.id))]
    changes = sum(a != b for a, b in zip(stored, stored[1:], strict=False))
    assert len(stored) == 51 and sum(conflicts) == changes  # every change reported, none twice


def test_label_import_checks_what_the_api_checks(tmp_path: Path) -> None:
    bom = tmp_path / "sheet.csv"
    bom.write_bytes("\ufefftext,label\nA headline from a spreadsheet,news\n".encode())
    assert [label.headline for label in read_labels(bom, 1000)] == ["A headline from a spreadsheet"]
    for row, says in (
        ({"text": "bad \x00 one", "label": "news"}, "NUL"),
        ({"text": "ok", "label": "news", "lang": "x" * 5000}, "'lang'"),
        ({"text": "ok", "label": "news", "source": "s" * 5000}, "'source'"),
    ):
        path = tmp_path / "rows.jsonl"
        path.write_text(json.dumps(row) + "\n")
        with pytest.raises(DataError, match=says):
            read_labels(path, 1000)
    assert os.path.exists(bom)
