"""The FreshRSS extension (``freshrss/``, docs/freshrss.md) in a real FreshRSS: the unmodified copy in
../shared/vendor/freshrss, installed in a temporary folder with Debian's PHP and SQLite, the
extension enabled and configured in the user's config, a feed served on 127.0.0.1 subscribed to
and refreshed with FreshRSS's command line, and the stored entries read from its SQLite database.

The entries' fate is compared with what ``POST /v1/score`` says of their titles, on a real server:
the bundled model on the seed page's sidebar teasers, and the known model (validated in English
only) for the unvalidated-language policy, labels, prefixes and a service that is down. The
reader's "Teaser" / "News" buttons are pressed through FreshRSS's web interface, and the labels
read back from the service's ``GET /v1/labels``."""

from __future__ import annotations

import html
import json
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from classifier.artifact import LanguageCalibration, read_manifest, write_manifest
from service.settings import ServiceSettings
from tests.support import freshrss
from tests.support.freshrss import FeedServer, FreshRSS, rss
from tests.support.models import TRIGGER
from tests.support.processes import free_port
from tests.support.servers import Running, start_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(freshrss.missing() is not None, reason=freshrss.missing() or ""),
]

# shared/seed-page.txt: its "Citește și" sidebar of partner-site teasers, and the page's own news
SEED_TEASERS = [
    "Report de peste 1,7 milioane de euro la Loto 6/49. Trageri speciale de Anul Nou",
    "Reacția Chinei după acuzațiile Kremlinului că ucrainenii au atacat reședința lui Putin",
    "Substanțe afrodisiace, descoperite în casa Rodicăi Stănoiu. Ancheta ia o turnură neașteptată",
    "Ioan Andone i-a primit pe Cătălin Măruță şi pe Andra în Spania, în casa lui de milioane de euro: "
    "„Sunt un om bogat”",
    "Cristi Borcea, ținta ironiilor pe internet. „Oameni care n-au ce face cu banii și se transformă în "
    "monștri”",
    "Vânt de până la 120 km/h! Avertizările meteorologilor, prelungite până în noaptea de Revelion",
    "Orașul-minune al României! Nu se mai oprește din dezvoltare și a atras miliarde de euro",
    "Situație critică în tunelul de sub Canalul Mânecii. Circulația tuturor trenurilor Eurostar a fost "
    "anulată",
    "Ninge 5 zile consecutiv, în România, de pe 1 ianuarie 2026! Meteorologii Weather.com au revizuit "
    "prognoza meteo",
    "Cum arată acum Cristina Spătar! Imagini incendiare cu regina muzicii R&B! Așa se menține în formă "
    "artista",
    "Wow sau Bau? Cât de mult le-au schimbat operaţiile estetice pe vedetele din România",
    "Un radar fix cu inteligență artificială a înregistrat peste 1.000 de abateri, în doar 4 zile",
]
SEED_NEWS = [
    "Coreea de Nord își apără cooperarea MILITARĂ cu Rusia/ Are ca scop „asigurarea păcii și stabilității "
    "în regiunea eurasiatică”",
    "Bloomberg: UE se pregătește să LIMITEZE accesul producătorilor chinezi de dispozitive medicale la "
    "contractele de achiziții publice",
    "Parliament approves the state budget after a long debate",
]
# the known model, validated in English only: clickbait iff TRIGGER is in the title
EN_BAIT = f"{TRIGGER}: parliament approves the state budget after a long debate"
DE_BAIT = f"Der Bundestag beschließt {TRIGGER} das neue Heizungsgesetz nach langer Debatte"
EN_NEWS = "The central bank keeps its rate unchanged for the third month"
DE_NEWS = "Die Zentralbank lässt den Leitzins im dritten Monat unverändert"
KNOWN_TITLES = [EN_BAIT, DE_BAIT, EN_NEWS, DE_NEWS]
EN_LATER = "The minister presents the budget to parliament"


@pytest.fixture()
def english_model(known_model: Path, tmp_path: Path) -> Path:
    """The known model, its calibration validated in English alone (a correction that changes nothing)."""
    out = tmp_path / "english-model"
    shutil.copytree(known_model, out)
    english = LanguageCalibration(rows=200, ece_before=0.02, ece_after=0.01)
    write_manifest(
        out, read_manifest(out).model_copy(update={"version": "known-en", "languages": {"en": english}})
    )
    return out


@pytest.fixture()
def serve(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def make(model: str, **overrides: object) -> Running:
        data = tmp_path / f"data-{len(started)}"
        started.append(start_server(ServiceSettings(model=model, data_dir=data, **overrides)))
        return started[-1]

    yield make
    for running in started:
        running.stop()


@pytest.fixture()
def feeds() -> Iterator[Callable[[list[str]], FeedServer]]:
    started: list[FeedServer] = []

    def make(titles: list[str]) -> FeedServer:
        started.append(FeedServer(rss(titles)))
        return started[-1]

    yield make
    for server in started:
        server.close()


def scored(running: Running, titles: list[str]) -> dict[str, dict]:
    answer = httpx.post(f"{running.url}/v1/score", json={"headlines": titles}, timeout=60)
    assert answer.status_code == 200, answer.text
    return {r["headline"]: r for r in answer.json()["results"]}


def score_requests(running: Running) -> float:
    """How many ``POST /v1/score`` requests ``running`` has answered (its Prometheus counter)."""
    metrics = httpx.get(f"{running.url}/metrics").text
    found = re.search(
        r'(?m)^clickbait_requests_total\{[^}]*route="/v1/score"[^}]*status="200"[^}]*\} (\S+)$', metrics
    )
    return float(found[1]) if found else 0.0


def refreshed(tmp_path: Path, feed: FeedServer, **settings: object) -> FreshRSS:
    """A FreshRSS with the extension set to ``settings``, subscribed to ``feed`` and refreshed once;
    a generous timeout unless one is given (these tests are about decisions, on a busy machine)."""
    reader = FreshRSS.install(tmp_path)
    reader.configure(**{"timeout_s": 60, **settings})
    reader.subscribe(feed.url)
    out = reader.actualize()
    assert "new articles" in out, out
    return reader


def test_the_seed_teasers_are_marked_read_as_v1_score_decides(serve, feeds, tmp_path: Path) -> None:
    running = serve("default")
    titles = SEED_TEASERS + SEED_NEWS
    reader = refreshed(tmp_path, feeds(titles), service_url=running.url, action="read")
    assert score_requests(running) == 1  # the feed's titles in one batch, not one request per entry

    info = httpx.get(f"{running.url}/info").json()
    clickbait, names_languages = info["labels"][1], bool(info["languages"])
    expected = {
        title: r["label"] == clickbait and (r["validated"] or not names_languages)
        for title, r in scored(running, titles).items()
    }
    stored = {e.title: e.is_read for e in reader.entries()}
    assert stored == expected, reader.log()
    # the target: the sidebar's clickbait hidden on refresh, the page's own news left to read
    assert any(stored[t] for t in SEED_TEASERS)
    assert not any(stored[t] for t in SEED_NEWS)
    assert "Clickbait:" not in reader.log()


@pytest.mark.parametrize("act_unvalidated", [False, True])
def test_clickbait_in_an_unvalidated_language_stays_unread_unless_the_user_opts_in(
    serve, feeds, english_model: Path, tmp_path: Path, act_unvalidated: bool
) -> None:
    running = serve(str(english_model))
    results = scored(running, KNOWN_TITLES)
    assert [results[t]["label"] for t in KNOWN_TITLES] == ["clickbait", "clickbait", "news", "news"]
    assert [results[t]["validated"] for t in KNOWN_TITLES] == [True, False, True, False]

    reader = refreshed(
        tmp_path, feeds(KNOWN_TITLES), service_url=running.url, act_unvalidated=act_unvalidated
    )  # the action left to its default: mark read
    assert {e.title: e.is_read for e in reader.entries()} == {
        EN_BAIT: True,
        DE_BAIT: act_unvalidated,
        EN_NEWS: False,
        DE_NEWS: False,
    }


def test_the_service_rules_decide_first_on_title_path_and_author(
    serve, english_model: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text(
        'keep title "parliament approves"\n'  # EN_BAIT is clickbait to the model
        'drop path "/sponsored/"\n'
        'drop author "Promo Desk"\n'
    )
    running = serve(str(english_model), rules_file=rules)
    titles = [*KNOWN_TITLES, EN_LATER]
    paths = ["a/1", "a/2", "sponsored/3", "a/4", "a/5"]
    authors = [None, None, None, "Promo Desk", "Ana Pop; Promo Desk"]
    feed = FeedServer(rss(titles, paths=paths, authors=authors))
    try:
        reader = refreshed(tmp_path, feed, service_url=running.url, action="read")
    finally:
        feed.close()
    assert {e.title: e.is_read for e in reader.entries()} == {
        EN_BAIT: False,  # kept by its title rule
        DE_BAIT: False,  # the model's clickbait in an unvalidated language: held
        EN_NEWS: True,  # dropped by its path, whatever the model says
        DE_NEWS: True,  # dropped by its author: a rule's decision is not held for its language
        EN_LATER: True,  # one of its two authors
    }, reader.log()
    assert score_requests(running) == 1  # the entries found their answers in the feed's batch


def test_labels_name_every_clickbait_entry_and_leave_it_unread(
    serve, feeds, english_model: Path, tmp_path: Path
) -> None:
    running = serve(str(english_model))
    reader = refreshed(tmp_path, feeds(KNOWN_TITLES), service_url=running.url, action="label", label="Köder")
    entries = {e.title: e for e in reader.entries()}
    assert {t: e.labels for t, e in entries.items()} == {
        EN_BAIT: ["Köder"],
        DE_BAIT: ["Köder"],  # a label hides nothing: held clickbait is named too
        EN_NEWS: [],
        DE_NEWS: [],
    }
    assert not any(e.is_read for e in entries.values())
    assert {t for t, e in entries.items() if "clickbait" in e.tags} == {EN_BAIT, DE_BAIT}


def test_prefixes_name_clickbait_once_across_refreshes(
    serve, feeds, english_model: Path, tmp_path: Path
) -> None:
    running = serve(str(english_model))
    results = scored(running, KNOWN_TITLES)
    feed = feeds(KNOWN_TITLES)
    reader = refreshed(tmp_path, feed, service_url=running.url, action="prefix")

    def named(title: str) -> str:
        r = results[title]
        return f"[clickbait {r['score']:.2f}] {title}" if r["label"] == "clickbait" else title

    expected = sorted(named(t) for t in KNOWN_TITLES)
    assert sorted(e.title for e in reader.entries()) == expected
    assert not any(e.is_read for e in reader.entries())
    # the entries keep the feed's hash: when the feed changes (one more item), each old entry is
    # found as stored, not updated (with the service now gone, an updated one would lose its prefix)
    reader.configure(service_url=f"http://127.0.0.1:{free_port()}", action="prefix")
    reader.set_user(ttl_default=0)  # refresh now, not an hour after the last one
    reader.forget_downloads()
    feed.body = rss([*KNOWN_TITLES, EN_LATER])
    time.sleep(1.1)
    assert "(1 new articles)" in reader.actualize()
    assert sorted(e.title for e in reader.entries()) == sorted([*expected, EN_LATER])
    judged = [line for line in reader.log().splitlines() if "not judged" in line]
    assert len(judged) == 1 and judged[0].endswith(EN_LATER), judged


def test_with_the_service_down_entries_pass_untouched_and_the_failure_is_logged(
    feeds, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    reader = refreshed(tmp_path, feeds(KNOWN_TITLES), service_url=down, action="prefix", timeout_s=1)
    assert time.monotonic() - started < 60
    entries = reader.entries()
    assert sorted(e.title for e in entries) == sorted(KNOWN_TITLES)
    assert not any(e.is_read or e.labels for e in entries)
    log = reader.log()
    assert log.count(f"Clickbait: the service at {down} failed") == 1, log
    unjudged = [line for line in log.splitlines() if "not judged (service unavailable: " in line]
    assert sorted(line.rsplit("): ", 1)[1] for line in unjudged) == sorted(KNOWN_TITLES), log


def test_a_title_the_service_refuses_is_stored_as_it_came_and_the_next_is_still_judged(
    serve, feeds, english_model: Path, tmp_path: Path
) -> None:
    running = serve(str(english_model), max_chars=40)  # EN_BAIT is longer: 422 headline_too_long
    short_bait = f"{TRIGGER}: the minister resigns today"
    assert scored(running, [short_bait])[short_bait]["validated"]  # English: marked read
    reader = refreshed(tmp_path, feeds([EN_BAIT, short_bait, EN_NEWS]), service_url=running.url)
    assert {e.title: e.is_read for e in reader.entries()} == {
        EN_BAIT: False,
        short_bait: True,
        EN_NEWS: False,
    }
    refused = [line for line in reader.log().splitlines() if "refused by the service" in line]
    assert len(refused) == 2 and "headline_too_long" in refused[0], reader.log()
    assert {line.rsplit("): ", 1)[1] for line in refused} == {EN_BAIT, EN_NEWS}


class ServiceDouble:
    """A stand-in for the service that records each request's method, path and Authorization header:
    every title is clickbait, or every ``/v1/score`` fails with ``fail`` (a status)."""

    def __init__(self, fail: int | None = None) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                double.seen.append(("GET", self.path, self.headers.get("Authorization")))
                self.answer(200, {"ready": True, "labels": ["news", "clickbait"], "languages": {}})

            def do_POST(self) -> None:  # noqa: N802
                double.seen.append(("POST", self.path, self.headers.get("Authorization")))
                titles = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["headlines"]
                if fail:
                    self.answer(fail, {"error": "the model failed", "error_type": "internal_error"})
                    return
                results = [
                    {"headline": t, "score": 0.9, "label": "clickbait", "validated": True} for t in titles
                ]
                self.answer(200, {"model": "double", "threshold": 0.5, "results": results})

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("fail", [None, 500])
def test_the_api_key_goes_as_a_bearer_token_and_never_into_the_log(
    feeds, tmp_path: Path, fail: int | None
) -> None:
    double = ServiceDouble(fail)
    try:
        reader = refreshed(tmp_path, feeds([EN_NEWS, DE_NEWS]), service_url=double.url, api_key="k3y-s3cret")
    finally:
        double.close()
    assert double.seen == [
        ("GET", "/info", "Bearer k3y-s3cret"),
        ("POST", "/v1/score", "Bearer k3y-s3cret"),  # the feed's two titles in one request
    ]
    assert [e.is_read for e in reader.entries()] == [fail is None] * 2
    assert "k3y-s3cret" not in reader.log()
    if fail:
        assert "HTTP 500 from /v1/score (internal_error: the model failed)" in reader.log()


def test_the_configure_page_stores_the_settings_and_creates_the_label(tmp_path: Path) -> None:
    """The page FreshRSS shows under Extensions → Clickbait → configure, posted as a browser does."""
    reader = FreshRSS.install(tmp_path)
    reader.set_user(extensions_enabled={freshrss.NAME: True})
    with reader.web() as url, httpx.Client(base_url=url, timeout=30) as browser:
        page = browser.get("/i/", params={"c": "extension", "a": "configure", "e": freshrss.NAME})
        assert page.status_code == 200
        assert 'value="http://127.0.0.1:8000"' in page.text and 'value="read" selected' in page.text
        csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', page.text)
        assert csrf, page.text
        form = {
            "_csrf": csrf[1],
            "service_url": "http://clickbait.lan:8000/",
            "api_key": "s3cret",
            "action": "label",
            "label": "Momeală",
            "act_unvalidated": "1",
            "timeout_s": "0.5",
        }
        posted = browser.post(
            "/i/", params={"c": "extension", "a": "configure", "e": freshrss.NAME}, data=form
        )
        assert posted.status_code == 200
        assert 'value="Momeală"' in posted.text and 'value="label" selected' in posted.text
    assert reader.user_config()["extensions"][freshrss.NAME] == {
        "service_url": "http://clickbait.lan:8000",
        "api_key": "s3cret",
        "action": "label",
        "act_unvalidated": True,
        "timeout_s": 0.5,
        "label": "Momeală",
        "buttons": False,  # its box left unticked, as a browser sends it
    }
    with sqlite3.connect(reader.user_dir / "db.sqlite") as db:
        labels = db.execute("SELECT name, attributes FROM tag").fetchall()
    assert [(name, json.loads(attributes)["filters"]) for name, attributes in labels] == [
        ("Momeală", [{"search": "#clickbait", "actions": ["label"]}])
    ]


# the reader's labels: the key the extension is given, as the service knows it (name:secret)
READER, READER_KEY = "ana", "fr3sh-k3y"
SITE = "https://news.example.org/"  # the entries' links: a label's source is their host
MISS = (
    "Bonds & rates: the central bank keeps its rate unchanged"  # news to the model; XML-encoded in FreshRSS
)
STREAM = {"get": "a", "state": "3"}  # the list the buttons are pressed in: all entries, read or not


def entry_ids(reader: FreshRSS) -> dict[str, str]:
    """Each stored entry's id, by its title as stored (a prefix included)."""
    with sqlite3.connect(reader.user_dir / "db.sqlite") as db:
        return {html.unescape(title): str(i) for i, title in db.execute("SELECT id, title FROM entry")}


def label_forms(page: str) -> dict[str, dict[str, str]]:
    """The "Teaser" / "News" forms of a page of entries, by entry id: their hidden fields."""
    forms = {}
    for form in re.findall(r'<form class="clickbait-label".*?</form>', page, re.S):
        fields = {
            k: html.unescape(v) for k, v in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form)
        }
        forms[fields["id"]] = fields
    return forms


def press(browser: httpx.Client, form: dict[str, str], label: str) -> str:
    """Press a form's button (``label``: clickbait or news) as a browser does; the notification shown
    on the page it is sent back to."""
    answer = browser.post(
        "/i/", params={"c": "clickbait", "a": "label"}, data={**form, "label": label}, follow_redirects=True
    )
    assert answer.status_code == 200, answer.text
    assert answer.history and answer.history[0].status_code == 302
    back = httpx.URL(answer.history[0].headers["location"])
    assert dict(back.params) == {
        "a": "normal",
        **STREAM,
        "rid": back.params["rid"],
    }  # the stream it came from
    assert back.fragment == f"flux_{form['id']}"  # at the entry
    shown = re.search(r'<span class="msg">(.*?)</span>', answer.text, re.S)
    assert shown, answer.text
    return html.unescape(shown[1]).strip()


def service_labels(running: Running) -> list[tuple[str, str, str | None, str]]:
    answer = httpx.get(f"{running.url}/v1/labels", headers={"Authorization": f"Bearer {READER_KEY}"})
    assert answer.status_code == 200, answer.text
    return [(x["headline"], x["label"], x["source"], x["by"]) for x in answer.json()["labels"]]


def test_teaser_and_news_buttons_send_the_readers_labels_and_mark_the_entry(
    serve, english_model: Path, tmp_path: Path
) -> None:
    running = serve(str(english_model), admin_keys=f"{READER}:{READER_KEY}")
    feed = FeedServer(rss([EN_BAIT, DE_BAIT, MISS, DE_NEWS], base=SITE))
    try:
        reader = refreshed(
            tmp_path, feed, service_url=running.url, api_key=READER_KEY, action="label", label="Köder"
        )
    finally:
        feed.close()
    ids = entry_ids(reader)
    with reader.web() as url, httpx.Client(base_url=url, timeout=60) as browser:
        page = browser.get("/i/", params={"a": "normal", **STREAM})
        assert page.status_code == 200
        forms = label_forms(page.text)
        assert sorted(forms) == sorted(ids.values())  # every entry, flagged or not
        # FreshRSS's own RSS output (and its APIs, exports) call the same hook: no buttons there
        assert "clickbait-label" not in browser.get("/i/", params={"a": "rss"}).text
        # a GET (a link, a prefetch) sends nothing; nor does a POST without FreshRSS's CSRF token
        got = browser.get("/i/", params={"c": "clickbait", "a": "label", "id": ids[MISS], "label": "news"})
        assert got.status_code == 302
        forged = {**forms[ids[DE_NEWS]], "_csrf": "0" * 40, "label": "clickbait"}
        refused = browser.post("/i/", params={"c": "clickbait", "a": "label"}, data=forged)
        assert refused.status_code == 302 and "c=error" in refused.headers["location"]

        # a miss: the service called it news, the reader says teaser
        assert press(browser, forms[ids[MISS]], "clickbait") == (
            f"Clickbait: sent to the service as a teaser: “{MISS}”."
        )
        # a flagged entry corrected
        assert (
            press(browser, forms[ids[EN_BAIT]], "news")
            == f"Clickbait: sent to the service as news: “{EN_BAIT}”."
        )

    assert service_labels(running) == [
        (MISS, "clickbait", "news.example.org", READER),
        (EN_BAIT, "news", "news.example.org", READER),
    ]
    # the labels are the key's: they teach the layer that decides this reader's refreshes
    personal = httpx.get(
        f"{running.url}/v1/personal", headers={"Authorization": f"Bearer {READER_KEY}"}
    ).json()
    assert personal["reader"] == READER and len(personal["labels"]) == 2
    entries = {e.title: e for e in reader.entries()}
    assert {t: ("clickbait" in e.tags, e.labels) for t, e in entries.items()} == {
        EN_BAIT: (False, []),  # news now: its tag and label gone
        DE_BAIT: (True, ["Köder"]),
        MISS: (True, ["Köder"]),  # the miss, named as the service would have
        DE_NEWS: (False, []),
    }
    assert not any(e.is_read for e in entries.values())  # a label changes what the entry is, not its state
    assert READER_KEY not in reader.log()


def test_a_label_the_service_cannot_take_changes_nothing_and_says_why(
    serve, english_model: Path, tmp_path: Path
) -> None:
    """Prefixes, and every way a label fails: no key, a wrong key, the service down. The entry stays
    as it was, the reader is told why, and the log has it too."""
    running = serve(str(english_model), admin_keys=f"{READER}:{READER_KEY}")
    results = scored(running, [EN_BAIT])
    prefixed = f"[clickbait {results[EN_BAIT]['score']:.2f}] {EN_BAIT}"
    feed = FeedServer(rss([EN_BAIT, EN_NEWS], base=SITE))
    try:
        reader = refreshed(tmp_path, feed, service_url=running.url, action="prefix")  # no key yet
    finally:
        feed.close()
    ids = entry_ids(reader)
    assert sorted(ids) == sorted([prefixed, EN_NEWS])
    down = f"http://127.0.0.1:{free_port()}"
    with reader.web() as url, httpx.Client(base_url=url, timeout=60) as browser:
        forms = label_forms(browser.get("/i/", params={"a": "normal", **STREAM}).text)
        teaser = forms[ids[EN_NEWS]]

        assert press(browser, teaser, "clickbait") == (
            f"Clickbait: not sent as a teaser (“{EN_NEWS}”): set your API key on the extension’s configure "
            "page first (the service takes labels only with a key)."
        )
        reader.configure(service_url=running.url, action="prefix", api_key="wrong-k3y")
        assert press(browser, teaser, "clickbait") == (
            f"Clickbait: not sent as a teaser, the entry is unchanged (“{EN_NEWS}”): "
            "HTTP 403 from /v1/labels (forbidden: the key is not valid)"
        )
        reader.configure(service_url=down, action="prefix", api_key=READER_KEY, timeout_s=2)
        failed = press(browser, teaser, "clickbait")
        assert failed.startswith(
            f"Clickbait: not sent as a teaser, the entry is unchanged (“{EN_NEWS}”): "
        ), failed
        assert "127.0.0.1" in failed  # curl's reason: the address it could not reach
        assert service_labels(running) == []
        assert not any("clickbait" in e.tags for e in reader.entries())

        # the flagged entry corrected: its headline as it was scored, its title without the prefix
        reader.configure(service_url=running.url, action="prefix", api_key=READER_KEY)
        assert (
            press(browser, forms[ids[prefixed]], "news")
            == f"Clickbait: sent to the service as news: “{EN_BAIT}”."
        )
    assert service_labels(running) == [(EN_BAIT, "news", "news.example.org", READER)]
    assert sorted(e.title for e in reader.entries()) == sorted([EN_BAIT, EN_NEWS])
    log = reader.log()
    assert log.count("Clickbait: not labelled clickbait") == 3, log
    assert "Clickbait: not labelled clickbait, the service failed (HTTP 403 from /v1/labels" in log
    assert READER_KEY not in log and "wrong-k3y" not in log
