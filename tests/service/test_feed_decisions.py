"""One feed decision for every path (``service/feeds/decisions.py``): the feed filter, ``clickbait
filter-feed``, Miniflux's webhook and ``clickbait miniflux sweep`` decide the same items alike (site
rules first, then the model, then the unvalidated-language policy), and Miniflux's mark-read holds
back clickbait in an unvalidated language as a feed's drop mode does (docs/feeds.md)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from classifier.artifact import LanguageCalibration, read_manifest, write_manifest
from classifier.scorer import Scorer
from service.cli import main
from service.feeds.decisions import Policy, decide_items
from service.feeds.formats import parse_feed
from service.feeds.miniflux import Miniflux
from service.feeds.miniflux_sweep import sweep
from service.settings import ServiceSettings
from tests.support.miniflux import MinifluxDouble, entry
from tests.support.models import TRIGGER
from tests.support.servers import Running, start_server

TOKEN, SECRET = "api-key-456", "hook-secret-2"
FARM, TRUSTED = "farm.example.com", "trusted.example.org"
# id: (title, link); the model is validated in English only
ITEMS = {
    1: (f"{TRIGGER}: parliament approves the state budget after a long debate", "https://news.example.org/1"),
    2: (
        f"Der Bundestag beschließt {TRIGGER} das neue Heizungsgesetz nach langer Debatte",
        "https://de.example/2",
    ),
    3: ("Parliament approves the state budget after a long debate", "https://news.example.org/3"),
    4: ("The central bank keeps its rate unchanged for the third month", f"https://www.{FARM}/4"),
    5: (f"{TRIGGER}: the minister resigns after the vote on the budget", f"https://{TRUSTED}/5"),
}
REMOVED, HELD = [1, 4], [2]  # English clickbait and the blocked site; German clickbait, unvalidated


@pytest.fixture()
def english_model(known_model: Path, tmp_path: Path) -> Path:
    """The known model, its calibration validated in English alone (a correction that changes nothing)."""
    out = tmp_path / "english-model"
    shutil.copytree(known_model, out)
    english = LanguageCalibration(rows=200, ece_before=0.02, ece_after=0.01)
    manifest = read_manifest(out).model_copy(update={"version": "known-en", "languages": {"en": english}})
    write_manifest(out, manifest)
    return out


@pytest.fixture()
def sites(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The site rules, in the environment (for the command line) and as settings (for a server)."""
    monkeypatch.setenv("CLICKBAIT_FEED_BLOCK_SITES", FARM)
    monkeypatch.setenv("CLICKBAIT_FEED_ALLOW_SITES", TRUSTED)
    return {"feed_block_sites": [FARM], "feed_allow_sites": [TRUSTED]}


@pytest.fixture()
def miniflux() -> Iterator[MinifluxDouble]:
    entries = [
        entry(i, title, feed_id=1, category_id=1) | {"url": link} for i, (title, link) in ITEMS.items()
    ]
    double = MinifluxDouble(TOKEN, entries)
    yield double
    double.close()


@pytest.fixture()
def serve(english_model: Path, sites: dict[str, list[str]], miniflux: MinifluxDouble) -> Iterator:
    started: list[Running] = []

    def make(**overrides: object) -> Running:
        hook = {"miniflux_webhook_secret": SECRET, "miniflux_url": miniflux.url, "miniflux_token": TOKEN}
        settings = ServiceSettings(model=str(english_model), **sites, **hook, **overrides)
        started.append(start_server(settings))
        return started[-1]

    yield make
    for running in started:
        running.stop()


def json_feed() -> bytes:
    items = [{"id": str(i), "title": title, "url": link} for i, (title, link) in ITEMS.items()]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": items}).encode()


def annotations(body: bytes) -> dict[int, dict]:
    """Each item's ``_clickbait`` extension, by id; the score rounded past batching's last bits."""
    found = {int(item["id"]): dict(item.get("_clickbait", {})) for item in json.loads(body)["items"]}
    for extension in found.values():
        if "score" in extension:
            extension["score"] = round(extension["score"], 4)
    return found


def filtered(url: str, mode: str) -> bytes:
    answer = httpx.post(
        f"{url}/v1/filter?mode={mode}", content=json_feed(), headers={"Content-Type": "application/feed+json"}
    )
    assert answer.status_code == 200, answer.text
    return answer.content


def filter_feed(tmp_path: Path, model: Path, mode: str) -> bytes:
    source, out = tmp_path / "feed.json", tmp_path / f"out-{mode}.json"
    source.write_bytes(json_feed())
    assert main(["filter-feed", str(source), "--model", str(model), "--mode", mode, "-o", str(out)]) == 0
    return out.read_bytes()


def webhook(url: str, entries: list[dict]) -> dict:
    body = json.dumps({"event_type": "new_entries", "entries": entries}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    answer = httpx.post(
        f"{url}/v1/integrations/miniflux",
        content=body,
        headers={"X-Miniflux-Signature": signature},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def read_ids(double: MinifluxDouble) -> list[int]:
    return sorted(i for i, e in double.entries.items() if e["status"] == "read")


def test_the_paths_decide_the_same_items_alike(
    serve, english_model: Path, miniflux: MinifluxDouble, tmp_path: Path
) -> None:
    running = serve()
    annotated = annotations(filtered(running.url, "annotate"))
    assert annotations(filter_feed(tmp_path, english_model, "annotate")) == annotated
    scorer = Scorer.load(str(english_model))
    policy = Policy.of(ServiceSettings())
    verdicts = decide_items(scorer, parse_feed(json_feed()).items, policy)
    assert [(annotated[i]["label"], annotated[i].get("rule")) for i in ITEMS] == [
        ("clickbait", None),
        ("clickbait", None),
        ("news", None),
        ("clickbait", f"block:{FARM}"),
        ("news", f"allow:{TRUSTED}"),
    ]
    assert [(annotated[i].get("lang"), annotated[i].get("validated")) for i in (1, 2, 3)] == [
        ("en", True),
        ("de", False),
        ("en", True),
    ]
    assert [d.label for d in verdicts.decisions] == [annotated[i]["label"] for i in ITEMS]
    assert [round(d.score, 4) if d.score is not None else None for d in verdicts.decisions] == [
        annotated[i].get("score") for i in ITEMS
    ]

    kept = sorted(int(item["id"]) for item in json.loads(filtered(running.url, "drop"))["items"])
    assert kept == sorted(set(ITEMS) - set(REMOVED))
    kept_by_cli = sorted(
        int(item["id"]) for item in json.loads(filter_feed(tmp_path, english_model, "drop"))["items"]
    )
    assert kept_by_cli == kept

    hooked = webhook(running.url, list(miniflux.entries.values()))
    assert [e["id"] for e in hooked["clickbait"]] == REMOVED and [e["id"] for e in hooked["held"]] == HELD
    assert read_ids(miniflux) == REMOVED


def test_the_sweep_decides_as_the_webhook(english_model: Path, sites, miniflux: MinifluxDouble) -> None:
    async def swept():
        async with Miniflux(miniflux.url, TOKEN) as client:
            scorer = Scorer.load(str(english_model))
            return await sweep(
                client, scorer, Policy.of(ServiceSettings()), "mark_read", True, progress=False
            )

    report = asyncio.run(swept())
    assert [f.id for f in report.clickbait] == REMOVED and [f.id for f in report.held] == HELD
    assert read_ids(miniflux) == REMOVED


def test_mark_read_follows_the_unvalidated_language_policy(serve, miniflux: MinifluxDouble) -> None:
    """Held by default, marked read when ``feed_drop_unvalidated`` says so; prefixing names every
    clickbait entry, since a prefixed title is an annotation and leaves the entry unread."""
    told = webhook(serve(feed_drop_unvalidated=True).url, [miniflux.entries[2]])
    assert [e["id"] for e in told["clickbait"]] == [2] and told["held"] == [] and read_ids(miniflux) == [2]

    miniflux.entries[2]["status"] = "unread"
    held = webhook(serve().url, [miniflux.entries[2]])
    assert held["clickbait"] == [] and [e["id"] for e in held["held"]] == [2] and read_ids(miniflux) == []

    prefixed = webhook(serve(miniflux_action="prefix_title").url, [miniflux.entries[2]])
    assert [e["id"] for e in prefixed["clickbait"]] == [2] and prefixed["held"] == []
    assert miniflux.entries[2]["title"].startswith("[clickbait ") and read_ids(miniflux) == []


# the first matching rule decides: item 3's path before item 1's (and 3's) title; item 4's site list
# before its keep rule
RULES = 'drop path "/3"\nkeep title "parliament approves"\nkeep title "central bank"\n'
RULED = {1: "keep:rules.txt:2", 3: "drop:rules.txt:1", 4: f"block:{FARM}", 5: f"allow:{TRUSTED}"}


def test_the_rules_file_decides_alike_in_every_path(
    serve, english_model: Path, miniflux: MinifluxDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text(RULES)
    monkeypatch.setenv("CLICKBAIT_RULES_FILE", str(rules))  # the command line and the sweep
    running = serve(rules_file=rules)
    annotated = annotations(filtered(running.url, "annotate"))
    assert annotations(filter_feed(tmp_path, english_model, "annotate")) == annotated
    assert {i: a.get("rule") for i, a in annotated.items() if a.get("rule")} == RULED
    assert [annotated[i]["decided_by"] for i in ITEMS] == [
        "rule:rules.txt:2",
        "model",
        "rule:rules.txt:1",
        f"site:{FARM}",
        f"site:{TRUSTED}",
    ]
    kept = sorted(int(item["id"]) for item in json.loads(filtered(running.url, "drop"))["items"])
    assert kept == [1, 2, 5]

    async def swept():
        async with Miniflux(miniflux.url, TOKEN) as client:
            policy = Policy.of(ServiceSettings())
            return await sweep(
                client, Scorer.load(str(english_model)), policy, "mark_read", False, progress=False
            )

    report = asyncio.run(swept())
    assert [(f.id, f.decided_by) for f in report.clickbait] == [(3, "rule:rules.txt:1"), (4, f"site:{FARM}")]
    hooked = webhook(running.url, list(miniflux.entries.values()))
    assert [(e["id"], e["decided_by"]) for e in hooked["clickbait"]] == [
        (3, "rule:rules.txt:1"),
        (4, f"site:{FARM}"),
    ]
    assert [e["id"] for e in hooked["held"]] == HELD and read_ids(miniflux) == [3, 4]
