"""Miniflux on what is already stored: ``clickbait miniflux sweep`` (run as a user runs it) and the
webhook's title prefixing, against a local HTTP double of Miniflux's API that records the exact
requests (method, path, query, body, X-Auth-Token)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.settings import ServiceSettings
from service.store.db import make_engine
from service.store.label_store import LabelStore
from tests.support.miniflux import MinifluxDouble, Sent, entry
from tests.support.miniflux import sweep as run_sweep
from tests.support.models import TRIGGER

TOKEN = "api-key-123"
LISTING = {"status": ["unread"], "order": ["id"], "direction": ["asc"], "limit": ["250"]}
BAIT, NEWS = f"{TRIGGER}: what the star did on holiday", "Parliament passes the budget"
ENTRIES = [
    entry(1, NEWS, feed_id=1, category_id=10),
    entry(2, BAIT, feed_id=1, category_id=10),
    entry(3, f"{BAIT} (2)", feed_id=2, category_id=20),
    entry(4, f"{NEWS} (2)", feed_id=2, category_id=20),
    entry(5, f"{BAIT} (read)", feed_id=3, category_id=20, status="read"),
    entry(6, f"[clickbait 0.97] {BAIT} (named)", feed_id=3, category_id=20),
    entry(7, f"{BAIT} (3)", feed_id=3, category_id=20),
]


@pytest.fixture()
def miniflux() -> Iterator[MinifluxDouble]:
    double = MinifluxDouble(TOKEN, ENTRIES)
    yield double
    double.close()


def sweep(
    double: MinifluxDouble, known_model: Path, *args: str, token: str = TOKEN
) -> subprocess.CompletedProcess:
    return run_sweep(double, known_model, *args, token=token)


def summary(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stderr.strip().splitlines()[-1])


def listing(after: int = 0, **selection: int) -> Sent:
    query = {**LISTING, **({"after_entry_id": [str(after)]} if after else {})}
    return Sent("GET", "/v1/entries", query | {k: [str(v)] for k, v in selection.items()}, TOKEN, None)


@pytest.mark.slow
def test_a_dry_run_lists_the_clickbait_and_changes_nothing(
    miniflux: MinifluxDouble, known_model: Path
) -> None:
    before = copy.deepcopy(miniflux.entries)
    result = sweep(miniflux, known_model)
    assert summary(result) == {
        "scanned": 6,
        "already_named": 1,
        "clickbait": 3,
        "action": "mark_read",
        "applied": False,
        "note": "dry run: nothing changed; --apply to act",
    }
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [2, 3, 7]
    assert miniflux.sent == [listing(), listing(after=7)] and miniflux.entries == before


@pytest.mark.slow
def test_apply_marks_read_page_by_page(known_model: Path) -> None:
    """Three pages: marking a page read must not shift the next one (Miniflux pages by offset by
    default; the sweep pages by id)."""
    many = [
        entry(i, f"{BAIT} {i}" if i % 2 else f"{NEWS} {i}", feed_id=1, category_id=10) for i in range(1, 601)
    ]
    double = MinifluxDouble(TOKEN, many)
    try:
        assert summary(sweep(double, known_model, "--apply"))["clickbait"] == 300
        pages = [range(1, 251), range(251, 501), range(501, 601)]
        expected = []
        for page, after in zip(pages, (0, 250, 500), strict=True):
            marked = {"entry_ids": [i for i in page if i % 2], "status": "read"}
            expected += [listing(after=after), Sent("PUT", "/v1/entries", {}, TOKEN, marked)]
        assert double.sent == [*expected, listing(after=600)]
        assert {e["id"] for e in double.entries.values() if e["status"] == "read"} == set(range(1, 601, 2))
    finally:
        double.close()


@pytest.mark.slow
def test_per_feed_and_category_titles_prefixed_once(miniflux: MinifluxDouble, known_model: Path) -> None:
    selected = ("--feed", "1", "--category", "20", "--apply", "--miniflux-action", "prefix_title")
    first = sweep(miniflux, known_model, *selected)
    assert summary(first) | {"action": "prefix_title", "applied": True} == summary(first)
    flagged = {e["id"]: e for e in map(json.loads, first.stdout.splitlines())}
    assert sorted(flagged) == [2, 3, 7]
    renamed = {i: f"[clickbait {flagged[i]['score']:.2f}] {ENTRIES[i - 1]['title']}" for i in flagged}
    assert miniflux.sent == [
        listing(feed_id=1),
        Sent("PUT", "/v1/entries/2", {}, TOKEN, {"title": renamed[2]}),
        listing(after=2, feed_id=1),
        listing(category_id=20),
        Sent("PUT", "/v1/entries/3", {}, TOKEN, {"title": renamed[3]}),
        Sent("PUT", "/v1/entries/7", {}, TOKEN, {"title": renamed[7]}),
        listing(after=7, category_id=20),
    ]
    assert {i: miniflux.entries[i]["title"] for i in renamed} == renamed
    assert all(e["status"] == ENTRIES[e["id"] - 1]["status"] for e in miniflux.entries.values())  # none read
    miniflux.sent.clear()
    again = sweep(miniflux, known_model, *selected)
    assert summary(again)["already_named"] == 4 and again.stdout == ""
    assert all(sent.method == "GET" for sent in miniflux.sent)


def test_sweep_without_miniflux_settings_is_a_one_line_error(
    miniflux: MinifluxDouble, known_model: Path
) -> None:
    result = sweep(miniflux, known_model, token="")
    assert result.returncode == 2 and miniflux.sent == []
    assert result.stderr.strip().splitlines() == [
        "clickbait miniflux: error: set CLICKBAIT_MINIFLUX_URL (or --miniflux-url) and "
        "CLICKBAIT_MINIFLUX_TOKEN (an API key)"
    ]


def test_the_webhook_can_prefix_titles_instead(make_server, miniflux: MinifluxDouble) -> None:
    secret = "hook-secret"
    running = make_server(
        miniflux_webhook_secret=secret,
        miniflux_url=miniflux.url,
        miniflux_token=TOKEN,
        miniflux_action="prefix_title",
    )
    body = json.dumps({"event_type": "new_entries", "entries": [ENTRIES[0], ENTRIES[1], ENTRIES[5]]}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    answer = httpx.post(
        f"{running.url}/v1/integrations/miniflux",
        content=body,
        headers={"X-Miniflux-Signature": signature, "X-Miniflux-Event-Type": "new_entries"},
        timeout=30,
    ).json()
    assert answer["action"] == "prefix_title" and answer["marked_read"] is False
    assert answer["scored"] == 2  # the entry named before is not judged again
    (bait,) = answer["clickbait"]
    assert miniflux.sent == [
        Sent("PUT", "/v1/entries/2", {}, TOKEN, {"title": f"[clickbait {bait['score']:.2f}] {BAIT}"})
    ]


LABELLED = [  # a category of feeds the user finds bait (30), starred entries they call news
    *(
        entry(10 + i, f"Kardashian {what}", feed_id=5, category_id=30, status="read")
        for i, what in enumerate(
            [
                "buys a castle in Scotland",
                "sisters argue on a yacht",
                "reveals her morning routine",
                "wears spoons",
            ]
        )
    ),
    *(
        entry(20 + i, title, feed_id=1, category_id=10, status="read", starred=True)
        for i, title in enumerate(
            [
                "Parliament passes the budget",
                "Central bank keeps rates",
                "Floods close the motorway",
                "Court rules",
            ]
        )
    ),
    entry(31, "Kardashian opens a bakery in Paris", feed_id=1, category_id=10),
    entry(32, "Ministers meet on the grain deal", feed_id=1, category_id=10),
]


@pytest.mark.slow
def test_a_category_and_stars_in_miniflux_become_labels_that_teach_the_sweep(
    known_model: Path, isolated_data: Path, make_server
) -> None:
    double = MinifluxDouble(TOKEN, LABELLED)
    env = {"CLICKBAIT_MINIFLUX_LABEL_CATEGORY": "30", "CLICKBAIT_MINIFLUX_LABEL_STARRED": "news"}
    try:
        first = run_sweep(double, known_model, "--apply", token=TOKEN, env=env)
        assert summary(first) | {"labels": 8, "labels_stored": 8, "clickbait": 1} == summary(first)
        (flagged,) = map(json.loads, first.stdout.splitlines())
        assert flagged["id"] == 31 and flagged["decided_by"] == "personal"
        labels = {k: [str(v)] for k, v in {"order": "id", "direction": "asc", "limit": 250}.items()}
        assert double.sent == [
            Sent("GET", "/v1/entries", {"starred": ["true"], **labels}, TOKEN, None),
            Sent(
                "GET", "/v1/entries", {"starred": ["true"], **labels, "after_entry_id": ["23"]}, TOKEN, None
            ),
            Sent("GET", "/v1/entries", {"category_id": ["30"], **labels}, TOKEN, None),
            Sent(
                "GET", "/v1/entries", {"category_id": ["30"], **labels, "after_entry_id": ["13"]}, TOKEN, None
            ),
            listing(),
            Sent("PUT", "/v1/entries", {}, TOKEN, {"entry_ids": [31], "status": "read"}),
            listing(after=32),
        ]
        stored = stored_labels(isolated_data)
        assert {(r.headline, r.label, r.source, r.author, r.reader) for r in stored} == {
            *(
                (e["title"], "clickbait", "feed5.example", "miniflux", "miniflux/default")
                for e in LABELLED[:4]
            ),
            *((e["title"], "news", "feed1.example", "miniflux", "miniflux/default") for e in LABELLED[4:8]),
        }
        again = run_sweep(double, known_model, "--apply", token=TOKEN, env=env)
        assert summary(again)["labels_stored"] == 0 and summary(again)["clickbait"] == 0  # 31 is read now
        assert len(stored_labels(isolated_data)) == 8

        # the webhook decides the same user's new entries with the layer the sweep learnt
        secret = "hook-secret"
        running = make_server(miniflux_webhook_secret=secret)
        new = [entry(40, "Kardashian adopts a llama", feed_id=1, category_id=10), entry(41, NEWS, 1, 10)]
        body = json.dumps({"event_type": "new_entries", "entries": new}).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        answer = httpx.post(
            f"{running.url}/v1/integrations/miniflux",
            content=body,
            headers={"X-Miniflux-Signature": signature},
            timeout=30,
        ).json()
        assert [(c["id"], c["decided_by"]) for c in answer["clickbait"]] == [(40, "personal")]
    finally:
        double.close()


def stored_labels(data_dir: Path) -> list:
    """The labels the sweep stored in the label database of ``data_dir``."""
    engine = make_engine(ServiceSettings(data_dir=data_dir).database)
    try:
        return list(LabelStore(engine).page(limit=100).labels)
    finally:
        engine.dispose()
