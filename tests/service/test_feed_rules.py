"""The rules file (``service/feeds/rules.py``): its format, refused with FILE:LINE; the precedence
(site lists, then the file's first matching rule, then the model); the regex guard; reading the
file again when it changes; ``POST /v1/score`` with ``rules``. The feed paths that apply the rules
are tested in test_feed_decisions.py and test_proxy_conditional.py."""

from __future__ import annotations

import logging
import os
import random
import re
import time
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.cli import main
from service.feeds import rules as rules_module
from service.feeds.formats import decide, needs_score, parse_feed
from service.feeds.miniflux import entry_items
from service.feeds.rule_prefilter import Prefilter
from service.feeds.rules import MAX_TEXT, RuleError, Rules, read_rules, rules_of
from service.feeds.site_rules import SiteRules
from service.settings import ServiceSettings
from tests.support.feed_docs import ATOM, RSS
from tests.support.models import TRIGGER

RULES = """\
# exceptions first: the first rule that matches decides
site news.example.org keep path "/live/"
keep title "BREAKING"
drop path "/sponsored/"
drop title /^\\d+ (things|reasons) /i
drop author "Promo Desk"
drop title /won'?t believe/
"""


def rules(text: str = RULES) -> Rules:
    return Rules.parse(text, "/etc/clickbait/rules.txt")


@pytest.mark.parametrize(
    ("title", "link", "author", "decided"),
    [
        ("BREAKING: a quake", "https://a.example/sponsored/1", None, "keep:rules.txt:3"),  # keep listed first
        ("A quake", "https://a.example/sponsored/1", None, "drop:rules.txt:4"),
        ("breaking: a quake", "https://a.example/news/1", None, "keep:rules.txt:3"),  # quoted: any case
        ("12 THINGS you missed", "https://a.example/n/1", None, "drop:rules.txt:5"),  # /i
        ("You won't believe it", "https://a.example/n/1", None, "drop:rules.txt:7"),
        ("You WONT BELIEVE it", "https://a.example/n/1", None, None),  # a regex minds case unless /i
        ("A quake", "https://a.example/n/1", "The Promo Desk team", "drop:rules.txt:6"),
        ("A quake", "https://www.news.example.org/live/sponsored/1", None, "keep:rules.txt:2"),  # its site
        ("A quake", "https://other.example/live/sponsored/1", None, "drop:rules.txt:4"),  # not its site
        ("A quake", "http://[broken/sponsored/", None, None),  # no path urllib can read
        (None, None, None, None),
    ],
)
def test_the_first_matching_rule_decides(title: str, link: str, author: str, decided: str | None) -> None:
    assert rules().decide(title, link, author) == decided


def test_site_lists_decide_before_the_rules_file_and_it_before_the_model() -> None:
    rss = parse_feed(RSS.encode())  # a news item by Ana Popescu, then one from farm.example.com
    written = rules('keep path "/vedeta"\ndrop author "ana popescu"\n')
    matched, todo = needs_score(rss.items, SiteRules(), written)
    assert matched == ["drop:rules.txt:2", "keep:rules.txt:1"] and todo == []
    matched, todo = needs_score(rss.items, SiteRules.of(block=["farm.example.com"]), written)
    assert matched == ["drop:rules.txt:2", "block:farm.example.com"] and todo == []
    decisions = decide(["drop:rules.txt:2", "keep:rules.txt:9", None], {2: 0.9}, 0.5, ("news", "clickbait"))
    assert [(d.label, d.score, d.decided_by) for d in decisions] == [
        ("clickbait", None, "rule:rules.txt:2"),
        ("news", None, "rule:rules.txt:9"),
        ("clickbait", 0.9, "model"),
    ]


def test_authors_are_read_from_every_format() -> None:
    json_feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
        b'{"id": "1", "title": "t", "authors": [{"name": "Promo Desk"}]},'
        b'{"id": "2", "title": "t", "author": {"name": "Old Style"}}, {"id": "3", "title": "t"}]}'
    )
    assert [i.author for i in parse_feed(json_feed).items] == ["Promo Desk", "Old Style", None]
    assert [i.author for i in parse_feed(RSS.encode()).items] == ["Ana Popescu", None]
    atom = ATOM.replace("<entry>", "<entry><author><name>Ion Ionescu</name></author>", 1)
    assert parse_feed(atom.encode()).items[0].author == "Ion Ionescu"
    assert entry_items([{"id": 1, "title": "t", "author": "Promo Desk"}])[0].author == "Promo Desk"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('dropp title "x"', "'dropp' is not keep or drop"),
        ('drop body "x"', "'body' is not title, path or author"),
        ("drop title x", "a /regex/"),
        ('drop title ""', "a /regex/"),
        ("drop title", "a rule is: "),
        ("site example.com", "needs a rule after it"),
        ("drop title /[a-/", "does not compile"),
        ("drop title /x/g", "flag i"),
        ("drop title /(a+)+$/", "a quantifier inside a quantified group"),
        ("drop title /(a|aa)*b/", "an alternation inside a quantified group"),
        ("drop title /(\\w+) \\1/", "a backreference"),
        ("drop title /.*a.*b.*c/", "more than 2 unbounded quantifiers"),
        (f"drop title /{'x' * 201}/", "longer than 200 characters"),
    ],
)
def test_a_bad_line_is_refused_with_its_file_and_line(line: str, reason: str) -> None:
    with pytest.raises(RuleError, match=reason) as refused:
        rules(f'# a comment\n\nkeep title "fine"\n{line}\n')
    assert str(refused.value).startswith("/etc/clickbait/rules.txt:4: ") and refused.value.line == 4


def test_a_bad_file_stops_the_command_line_and_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.txt"
    bad.write_text('keep title "ok"\ndrop titel "x"\n')
    assert main(["rules", "check", str(bad)]) == 2
    assert f"{bad}:2: 'titel' is not title, path or author" in capsys.readouterr().err
    assert main(["filter-feed", "-", "--rules-file", str(bad)]) == 2
    assert f"{bad}:2:" in capsys.readouterr().err
    with pytest.raises(RuleError, match=":2: "):
        create_app(ServiceSettings(rules_file=bad))
    bad.write_text('keep title "ok"\n')
    assert main(["rules", "check", str(bad)]) == 0
    assert '"rules": 1' in capsys.readouterr().out


def test_a_pathological_regex_is_bounded(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The classic exponential shapes are refused above; what the check lets through reads at most
    MAX_TEXT characters, and a rule that once matches slowly is switched off."""
    polynomial = rules("drop title /\\w+a\\w+b/\n")  # two long quantifiers: let through
    start = time.perf_counter()
    assert polynomial.decide("a" * 1_000_000, None, None) is None
    assert time.perf_counter() - start < 2  # cubic in MAX_TEXT, not in a million
    assert polynomial.decide("a" * MAX_TEXT + "ab", None, None) is None  # the b is past the cut

    monkeypatch.setattr(rules_module, "SLOW_MATCH_S", 0.0)  # every match is now too slow
    slow = rules('drop title /qu\\w+e/\ndrop title "quake"\n')
    with caplog.at_level(logging.ERROR, logger="service.feeds.rules"):
        assert slow.decide("A quake", None, None) == "drop:rules.txt:1"
    assert slow.switched_off == {"rules.txt:1"} and "rules.txt:1 took" in caplog.text
    assert slow.decide("A quake", None, None) == "drop:rules.txt:2"  # the regex is off, the rest work


def test_the_file_is_read_again_when_it_changes_and_a_bad_edit_keeps_the_last_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.txt"
    assert rules_of(None).rules == () and rules_of(path).rules == ()  # no file yet: no rules
    path.write_text('drop title "quake"\n')
    first = rules_of(path)
    assert rules_of(path) is first and first.decide("A quake", None, None) == "drop:rules.txt:1"
    path.write_text('keep title "quake"\n')
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    second = rules_of(path)
    assert second.decide("A quake", None, None) == "keep:rules.txt:1" and second.digest != first.digest
    path.write_text('keep titel "quake"\n')
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 2_000_000))
    assert rules_of(path) is second
    with pytest.raises(RuleError, match=":1: "):
        read_rules(path)


@pytest.mark.parametrize(
    "regex",
    ["/won'?t believe/", "/^\\d+ (things|reasons) /i", "/(?i)SIGN in/", "/kelvin SIGN/i", "/ab*c/", "/a|b/"],
)
def test_the_needle_a_regex_must_contain_never_hides_a_match(regex: str) -> None:
    """Each regex is tried only on texts holding its literal part; under ignore-case, ``re`` folds
    ı, İ, ſ and the Kelvin sign to ASCII letters, so those texts must still be searched."""
    ruled = rules(f"drop title {regex}\n")
    pattern = ruled.rules[0].pattern
    texts = ["You wont believe", "12 THINGS to do", "ſign İn", "KELVIN ſIGN", "ac", "xbx", "abbbc", "none"]
    for text in texts:
        assert (ruled.decide(text, None, None) is not None) == bool(pattern.search(text)), text


def test_score_decides_by_the_rules_when_asked(shared_server, tmp_path: Path) -> None:
    """``POST /v1/score`` with ``rules`` (the FreshRSS extension's request): a rule's label wins over
    the score and ``decided_by`` names it; without ``rules`` the answer is the model's, as before."""
    written = tmp_path / "rules.txt"
    written.write_text(
        'drop path "/sponsored/"\nkeep title "budget"\nsite farm.example.com drop author "promo"\n'
    )
    url = shared_server(rules_file=written, feed_block_sites=["blocked.example"]).url
    headlines = [
        f"{TRIGGER}: the budget passes",
        "Rail workers end their strike",
        "Rail workers end their strike",
        f"{TRIGGER}: rail workers end their strike",
        "The council meets on Tuesday",
    ]
    links = [
        None,
        "https://a.example/sponsored/1",
        "https://farm.example.com/2",
        "https://b.example/3",
        "https://blocked.example/4",
    ]
    authors = [None, None, "Promo Desk", "Promo Desk", None]
    body = {"headlines": headlines, "rules": True, "links": links, "authors": authors}
    answer = httpx.post(f"{url}/v1/score", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    assert [(r["label"], r["decided_by"]) for r in answer.json()["results"]] == [
        ("news", "rule:rules.txt:2"),
        ("clickbait", "rule:rules.txt:1"),
        ("clickbait", "rule:rules.txt:3"),
        ("clickbait", "model"),  # the author rule is for farm.example.com only
        ("clickbait", "site:blocked.example"),
    ]
    plain = httpx.post(f"{url}/v1/score", json={"headlines": headlines[:1]}, timeout=60).json()["results"][0]
    assert plain["label"] == "clickbait" and "decided_by" not in plain
    uneven = httpx.post(f"{url}/v1/score", json={**body, "links": links[:2]}, timeout=60)
    assert uneven.status_code == 422 and "links has 2 entries for 5 headlines" in uneven.text


def test_the_rules_are_edited_through_the_api_with_an_admin_key(shared_server, tmp_path: Path) -> None:
    written, key = tmp_path / "rules.txt", "rules-admin-key"
    url = shared_server(rules_file=written, admin_keys=key).url
    admin = {"Authorization": f"Bearer {key}", "Content-Type": "text/plain"}
    assert httpx.get(f"{url}/v1/rules").text == ""  # none written yet
    assert (
        httpx.put(
            f"{url}/v1/rules", content='keep title "x"\n', headers={"Content-Type": "text/plain"}
        ).status_code
        == 401
    )
    refused = httpx.put(f"{url}/v1/rules", content='keep title "x"\ndrop titel "y"\n', headers=admin)
    assert refused.status_code == 422 and refused.json()["error_type"] == "bad_rules"
    assert refused.json()["error"].startswith("rules.txt:2: ") and not written.exists()
    assert (
        httpx.put(f"{url}/v1/rules", content="x", headers={**admin, "Content-Type": "text/html"}).status_code
        == 415
    )

    saved = httpx.put(f"{url}/v1/rules", content='drop title "budget"\n', headers=admin)
    assert saved.status_code == 200 and saved.json()["rules"] == 1
    assert httpx.get(f"{url}/v1/rules").text == 'drop title "budget"\n'
    scored = httpx.post(
        f"{url}/v1/score", json={"headlines": ["The budget passes"], "rules": True}, timeout=60
    )
    assert scored.json()["results"][0]["decided_by"] == "rule:rules.txt:1"


def test_the_rules_routes_answer_404_without_a_rules_file(server) -> None:
    answer = httpx.get(f"{server.url}/v1/rules")
    assert answer.status_code == 404 and answer.json()["error_type"] == "not_configured"


def test_a_file_mixing_regexes_re2_takes_and_python_only_ones_decides_by_file_order() -> None:
    """RE2 has no atomic group, lookaround or Unicode ``\\d``/``\\w``, and folds case otherwise
    than ``re``: such regexes enter the one-pass set widened, and the file's order still decides."""
    mixed = rules(
        "keep title /(?>won'?t) believe/\n"  # an atomic group: Python only
        "drop title /\\bbelieve\\b/\n"  # RE2 takes it as written
        "drop title /^\\d+ (ideas|tricks)$/i\n"  # $ before a final newline, Unicode digits
        "keep title /(?<=a )gift/\n"  # a lookbehind
        "drop title /ſecret/i\n"  # re folds ſ with s; RE2 as well, but not ı with i
        "drop title /(?i:ıstanbul) now/\n"
        "drop author /(?!x)\\w+ desk/\n"  # a lookahead, and \\w takes ş
    )
    assert mixed._prefilters["title"]._rest == []  # every regex is in the set, none searched always
    assert mixed.decide("You won't believe it", None, None) == "keep:rules.txt:1"
    assert mixed.decide("Believe it or not: believe", None, None) == "drop:rules.txt:2"
    assert mixed.decide("١٢ IDEAS\n", None, None) == "drop:rules.txt:3"
    assert mixed.decide("Not a gift; believe", None, None) == "drop:rules.txt:2"  # line 2 comes first
    assert mixed.decide("Not a gift", None, None) == "keep:rules.txt:4"
    assert mixed.decide("The SECRET gift", None, None) == "drop:rules.txt:5"
    assert mixed.decide("İSTANBUL now", None, None) == "drop:rules.txt:6"
    assert mixed.decide("Nine believers", None, "Ştiri Desk") is None  # a regex minds case
    assert mixed.decide("Nine believers", None, "ştiri desk") == "drop:rules.txt:7"


def test_a_regex_with_no_widened_form_is_searched_in_every_text() -> None:
    """The rules file refuses backreferences before this point; the set, on its own, keeps such a
    regex out and names it for every text, in order among the others."""
    patterns = [re.compile("abc"), re.compile(r"(a)\1"), re.compile("x")]
    prefilter = Prefilter(patterns)
    assert prefilter.candidates("aa") == [1] and prefilter.candidates("abc x") == [0, 1, 2]


@pytest.mark.parametrize("seed", range(4))
def test_the_one_pass_set_never_hides_a_match(seed: int) -> None:
    """Random regexes over letters that fold oddly (ı, İ, ſ, K, Ș), Unicode digits and assertions:
    every regex that ``re`` finds in a text is among the set's candidates for it."""
    rng = random.Random(seed)
    atoms = ["i", "s", "k", "K", "ı", "İ", "ſ", "K", "ș", "Ș", "\\d", "\\w", "\\W", "\\s", "\\S", ".", " "]
    atoms += ["[a-k]", "[^s]", "[\\dx]", "[^\\w]", "(?i:s)", "(?s:.)", "(?>i+)", "[İ-ſ]"]
    assertions = ["\\b", "\\B", "^", "$", "\\Z", "(?=s)", "(?!i)", "(?<=k)"]

    def part() -> str:
        if rng.random() < 0.2:
            return rng.choice(assertions)
        return rng.choice(atoms) + rng.choice(["", "", "?", "+", "{2}", "*?", "++"])

    def regex() -> str:
        parts = [part() for _ in range(rng.randint(1, 4))]
        return "".join(parts) if rng.random() < 0.7 else "(?:" + "|".join(parts) + ")"

    patterns = [re.compile(regex(), rng.choice([0, re.IGNORECASE])) for _ in range(60)]
    prefilter = Prefilter(patterns)
    alphabet = "iIsSkKıİſKșȘ٣5 x\n_-"
    for _ in range(300):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 8)))
        candidates = set(prefilter.candidates(text))
        for position, pattern in enumerate(patterns):
            if pattern.search(text):
                assert position in candidates, (pattern, text)
