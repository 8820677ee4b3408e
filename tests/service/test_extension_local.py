"""The extension with no service at all, in Debian's Chromium and Firefox ESR: the default model,
built into the extension by `clickbait extension`, scores a news page's headlines in the browser
(Chromium: the offscreen document that local-scoring.js opens runs local-model.js; Firefox: its
background page imports it) and the teasers are dimmed. Nothing serves the model: no `clickbait
serve` runs, and the reader never set a service.

The headlines (tests/support/extension_pages.py) are each far from the default model's threshold (a
teaser wall of celebrity and curiosity teasers, and plain news), so the test reads the real model's
decisions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from classifier.scorer import Scorer
from service.cli import main
from service.cli.extension_build import write_extension
from tests.support import firefox
from tests.support.extension_browser import ExtensionBrowser, extension_browser, static_site
from tests.support.extension_pages import NAVIGATION, NEWS, TEASER_WALL, TEASERS

pytestmark = pytest.mark.browser

FIRST_LOAD_MS = 120_000  # the first page loads the model (WebAssembly compiled) on a busy 2-core CPU


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExtensionBrowser]:
    """One browser for the module: the model loads once, in its offscreen document."""
    out = tmp_path_factory.mktemp("extension")
    assert main(["extension", "--out", str(out), "--browser", "chromium"]) == 0
    with extension_browser(out / "clickbait-extension-chromium", out / "profile") as browser:
        browser.reset()  # the options tab the install opens; the defaults stay: no service
        yield browser


@pytest.fixture(scope="module")
def news_site() -> Iterator[str]:
    with static_site({"news.html": TEASER_WALL}) as url:
        yield f"{url}/news.html"


def link(page: Page, title: str):
    return page.locator("a", has_text=title)


def test_with_no_service_the_model_in_the_browser_dims_the_teasers(
    chromium: ExtensionBrowser, news_site: str
) -> None:
    requests: list[str] = []
    chromium.context.on("request", lambda request: requests.append(request.url))
    page = chromium.context.new_page()
    page.goto(news_site)
    expect(link(page, TEASERS[0])).to_have_css("opacity", "0.35", timeout=FIRST_LOAD_MS)
    for title in TEASERS:
        expect(link(page, title)).to_have_css("opacity", "0.35")
        expect(
            page.locator(f"a:has-text({json.dumps(title, ensure_ascii=False)}) + clickbait-badge")
        ).to_have_count(1)
    for title in NEWS + NAVIGATION:
        assert link(page, title).get_attribute("style") is None, title

    popup = chromium.popup(page)
    expect(popup.locator("#scorer")).to_contain_text("local model")
    expect(popup.locator("#service")).to_contain_text("No service set")
    link(page, TEASERS[0]).hover()  # the card: a score, and words only a service gives
    expect(page.locator("clickbait-card .why")).to_contain_text("Scored in this browser.")
    # the pages' own requests only: nothing went to a service
    assert all(url.startswith((news_site.rsplit("/", 1)[0], "chrome-extension://")) for url in requests)


def test_in_firefox_with_no_service_the_model_in_the_browser_dims_the_teasers(
    news_site: str, tmp_path: Path
) -> None:
    if why := firefox.missing():
        pytest.skip(why)
    build = write_extension(tmp_path, "firefox")
    shown = firefox.drive(build.folder, news_site, settle=TEASERS, wait_ms=FIRST_LOAD_MS)
    links = {link["text"]: link for link in shown["links"]}

    def find(title: str) -> dict:
        return next(link for text, link in links.items() if title in text)

    for title in TEASERS:
        assert find(title)["opacity"] == "0.35" and find(title)["badge"], title
    for title in NEWS + NAVIGATION:
        assert find(title)["opacity"] == "1" and not find(title)["badge"], title
    assert shown["popup"] == f"Dimmed {len(TEASERS)} of {len(TEASERS) + len(NEWS)} headlines."
    assert shown["scorer"].startswith("Scored in this browser by the local model")


LANGUAGE_PROBES = [
    "Guvernul a aprobat bugetul de stat pentru anul viitor",
    "Türkiye'de enflasyon beklentilerin altında kaldı",
    "Pemerintah umumkan kenaikan harga bahan bakar mulai besok",
    "El Gobierno aprueba los presupuestos para el próximo año",
    "Die Regierung beschließt den Haushalt für das kommende Jahr",
    "BREAKING NEWS: PARLIAMENT APPROVES THE BUDGET",
    "2027 — 12:30",
]


def test_local_model_module_scores_and_detects_as_the_service(chromium: ExtensionBrowser) -> None:
    """local-model.js in an extension page: py3langid's port names each language as the service
    does, and the decisions on this file's headlines are the service's."""
    scorer = Scorer.load("default")
    headlines = TEASERS + NEWS + LANGUAGE_PROBES
    page = chromium.context.new_page()
    page.goto(chromium.url("model/model.json"))
    answer = page.evaluate(
        """async (headlines) => {
            const { LocalModel } = await import("/local-model.js");
            return (await LocalModel.load()).score(headlines);
        }""",
        headlines,
    )
    page.close()
    expected = scorer.score(headlines)
    assert answer["langs"] == [p.lang for p in expected]
    assert answer["unvalidated"] == [not p.validated for p in expected]
    assert answer["threshold"] == scorer.threshold
    flagged = [score >= answer["threshold"] for score in answer["scores"]]
    assert flagged[: len(TEASERS + NEWS)] == [True] * len(TEASERS) + [False] * len(NEWS)
    assert set(answer["kinds"][0]) == set(scorer.kinds)
    # bait is the teaser head's calibrated probability there too (the probes' languages are
    # outside the pieces the extension keeps, so only the model's own headlines compare)
    shared = len(TEASERS + NEWS)
    for kinds, p in zip(answer["kinds"][:shared], expected[:shared], strict=True):
        assert all(abs(kinds[k] - p.kinds[k]) < 0.05 for k in scorer.kinds), (p.headline, kinds, p.kinds)
