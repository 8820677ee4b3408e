"""What a served model knows about languages: ``lang`` and ``validated`` in /v1/score, the validated
languages in /info, a feed's clickbait in an unvalidated language kept (annotated) in drop mode
unless the setting says otherwise, and the CLI's lines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from classifier.artifact import LanguageCalibration, read_manifest, write_manifest
from service.cli import main
from tests.support.feed_docs import rss_with_items
from tests.support.models import TRIGGER
from tests.support.processes import ROOT
from tests.support.servers import Running, SharedServers

ENGLISH_BAIT = f"{TRIGGER}: parliament approves the state budget after a long debate"
GERMAN_BAIT = f"Der Bundestag beschließt {TRIGGER} das neue Heizungsgesetz nach langer Debatte"
ENGLISH_NEWS = "Parliament approves the state budget after a long debate"
ENGLISH = LanguageCalibration(rows=200, ece_before=0.02, ece_after=0.01)
# a correction far from English's, so that a score says which language's calibration it went through
ROMANIAN = LanguageCalibration(below=0.5, above=0.2, rows=200, ece_before=0.05, ece_after=0.02)


@pytest.fixture(scope="module")
def validated_model(known_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The known model, validated in English (a correction that changes no score) and Romanian (the
    tests only read it)."""
    out = tmp_path_factory.mktemp("languages") / "validated-model"
    shutil.copytree(known_model, out)
    languages = {"en": ENGLISH, "ro": ROMANIAN}
    manifest = read_manifest(out).model_copy(update={"version": "known-en-ro", "languages": languages})
    write_manifest(out, manifest)
    return out


@pytest.fixture(scope="module")
def serve(
    validated_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Running]]:
    """``serve(**overrides)``: this module's server of the validated model with those settings (each
    test scores its own headlines or reads metric deltas)."""
    servers = SharedServers(validated_model, tmp_path_factory.mktemp("languages-servers"))
    yield servers.get
    servers.stop_all()


def test_score_and_info_say_which_languages_are_validated(serve) -> None:
    url = serve().url
    body = httpx.post(f"{url}/v1/score", json={"headlines": [ENGLISH_BAIT, GERMAN_BAIT, ENGLISH_NEWS]}).json()
    assert [(r["lang"], r["validated"], r["label"]) for r in body["results"]] == [
        ("en", True, "clickbait"),
        ("de", False, "clickbait"),
        ("en", True, "news"),
    ]
    info = httpx.get(f"{url}/info").json()
    assert info["languages"] == {"en": ENGLISH.model_dump(), "ro": ROMANIAN.model_dump()}


def test_the_callers_lang_wins_over_detection_in_score_and_explain(serve) -> None:
    url = serve().url

    def score(**extra) -> dict:
        answer = httpx.post(f"{url}/v1/score", json={"headlines": [ENGLISH_BAIT], **extra})
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]

    detected, told = score(), score(lang="RO")
    assert (detected["lang"], told["lang"], told["validated"]) == ("en", "ro", True)
    assert told["score"] < detected["score"] - 0.1  # Romanian's correction, not English's

    def cache_hits() -> float:
        metrics = httpx.get(f"{url}/metrics").text
        return float(
            next(
                line.split()[-1]
                for line in metrics.splitlines()
                if line.startswith("clickbait_cache_hits_total")
            )
        )

    hits = cache_hits()
    assert score(lang="ro")["score"] == told["score"] and cache_hits() == hits + 1  # "RO" is "ro"
    explained = httpx.post(f"{url}/v1/explain", json={"headline": ENGLISH_BAIT, "lang": "ro"}).json()
    assert explained["results"][0]["score"] == told["score"] and explained["results"][0]["lang"] == "ro"
    with_words = score(lang="ro", explain=True)
    assert with_words["words"] == explained["results"][0]["words"]
    assert max(w["contribution"] for w in with_words["words"]) > 0  # the trigger's, on Romanian's scale
    refused = httpx.post(f"{url}/v1/score", json={"headlines": [ENGLISH_BAIT], "lang": "English"})
    assert refused.status_code == 422 and "lang" in refused.text


def test_a_model_without_languages_validates_none(server) -> None:
    body = httpx.post(f"{server.url}/v1/score", json={"headlines": [ENGLISH_BAIT]}).json()
    assert (body["results"][0]["lang"], body["results"][0]["validated"]) == ("en", False)
    assert httpx.get(f"{server.url}/info").json()["languages"] == {}


def _feed(titles: list[str]) -> str:
    feed = rss_with_items(len(titles))
    for i, title in enumerate(titles):
        feed = feed.replace(f"<title>headline number {i}</title>", f"<title>{title}</title>", 1)
    return feed


def test_drop_mode_keeps_clickbait_in_an_unvalidated_language_annotated(serve) -> None:
    feed = _feed([ENGLISH_BAIT, GERMAN_BAIT, ENGLISH_NEWS])
    assert feed.count("<title>") >= 3 and GERMAN_BAIT in feed
    headers = {"Content-Type": "application/rss+xml"}
    kept = httpx.post(f"{serve().url}/v1/filter?mode=drop", content=feed.encode(), headers=headers)
    assert kept.status_code == 200 and kept.headers["X-Clickbait-Dropped"] == "1"
    assert ENGLISH_BAIT not in kept.text and ENGLISH_NEWS in kept.text
    assert GERMAN_BAIT in kept.text
    assert "<clickbait:lang>de</clickbait:lang>" in kept.text
    assert "<clickbait:validated>false</clickbait:validated>" in kept.text
    assert kept.text.count("<clickbait:label>") == 1  # the validated news item is left as it was

    told = serve(feed_drop_unvalidated=True).url
    dropped = httpx.post(f"{told}/v1/filter?mode=drop", content=feed.encode(), headers=headers)
    assert dropped.headers["X-Clickbait-Dropped"] == "2" and GERMAN_BAIT not in dropped.text

    annotated = httpx.post(f"{told}/v1/filter?mode=annotate", content=feed.encode(), headers=headers).text
    assert annotated.count("<clickbait:validated>true</clickbait:validated>") == 2


def test_a_served_language_replaces_detection_and_its_tables_are_never_loaded(serve, validated_model) -> None:
    url = serve(language="ro").url
    body = httpx.post(f"{url}/v1/score", json={"headlines": [ENGLISH_BAIT, GERMAN_BAIT]}).json()
    assert [(r["lang"], r["validated"]) for r in body["results"]] == [("ro", True), ("ro", True)]
    told = httpx.post(f"{url}/v1/score", json={"headlines": [GERMAN_BAIT], "lang": "de"}).json()
    assert (told["results"][0]["lang"], told["results"][0]["validated"]) == ("de", False)
    scored = (
        "import sys; from classifier.scorer import Scorer; "
        f"print(Scorer.load({str(validated_model)!r}).score([{ENGLISH_NEWS!r}])[0].lang, "
        "'py3langid' in sys.modules)"
    )
    env = {**os.environ, "CLICKBAIT_LANGUAGE": "ro", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", scored], env=env, capture_output=True, text=True, check=False
    )
    assert done.stdout.split() == ["ro", "False"], done.stderr[-2000:]


def test_cli_lines_carry_lang_and_validated(validated_model: Path, capsys: pytest.CaptureFixture) -> None:
    """``clickbait score``'s lines, from its entry point in this process (test_cli.py runs the
    console script itself)."""
    assert main(["score", "--model", str(validated_model), ENGLISH_NEWS, GERMAN_BAIT]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["lang"], r["validated"]) for r in lines] == [("en", True), ("de", False)]
    assert main(["score", "--model", str(validated_model), "--lang", "ro", ENGLISH_NEWS]) == 0
    told = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["lang"], r["validated"]) for r in told] == [("ro", True)]
