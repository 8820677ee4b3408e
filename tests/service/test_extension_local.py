"""The extension with no service at all, in Debian's Chromium: the default model, built into the
extension by `clickbait extension`, scores a news page's headlines in the browser (the offscreen
document that local-scoring.js opens runs local-model.js) and the teasers are dimmed. Nothing serves
the model: no `clickbait serve` runs, and the reader never set a service.

The headlines are this file's own, each far from the default model's threshold (a teaser wall of
celebrity and curiosity teasers, and plain news), so the test reads the real model's decisions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from service.cli import main
from tests.support.extension_browser import ExtensionBrowser, extension_browser, static_site

pytestmark = pytest.mark.browser

TEASERS = [
    "You won't believe what this famous actress looks like today",
    "10 photos of celebrity homes that will make your jaw drop",
    "This simple trick doctors don't want you to know",
    "Cum arată acum fosta prezentatoare TV. Fanii nu au recunoscut-o",
]
NEWS = [
    "Parliament approves the 2027 state budget after a two-day debate",
    "Guvernul a aprobat bugetul de stat pentru anul viitor",
    "Central bank holds interest rate at 6.5 percent",
    "EU foreign ministers meet in Brussels to discuss sanctions",
]
NAVIGATION = ["Front page", "World news", "Subscribe to our newsletter"]
FIRST_LOAD_MS = 120_000  # the first page loads the model (WebAssembly compiled) on a busy 2-core CPU


def teaser(site: str, title: str) -> str:
    return f'<li><a href="https://partner.example/{quote(title)}"><span>{site}</span><span>{title}</span></a></li>'


# A news page as the seed page lays one out: navigation, an article with related links, a sidebar
# wall of partner teasers mixed with plain news.
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News</title></head>
<body>
<header><nav><a href="/">{NAVIGATION[0]}</a> <a href="/world">{NAVIGATION[1]}</a></nav></header>
<main>
<article>
  <h1>Budget passes after a long night in parliament</h1>
  <p>The chamber voted late on Thursday, the speaker said.</p>
  <ul><li><a href="/eu">{NEWS[3]}</a></li><li><a href="/rates">{NEWS[2]}</a></li></ul>
</article>
<aside><h2>Read also</h2>
  <ul>
    {teaser("Cancan", TEASERS[0])}{teaser("Mediafax", NEWS[0])}{teaser("Click", TEASERS[1])}
    {teaser("Digi24", NEWS[1])}{teaser("Ciao", TEASERS[2])}{teaser("Libertatea", TEASERS[3])}
  </ul>
</aside>
</main>
<footer><a href="/subscribe">{NAVIGATION[2]}</a></footer>
</body></html>
"""


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
    with static_site({"news.html": PAGE}) as url:
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
    # the pages' own requests only: nothing went to a service
    assert all(url.startswith((news_site.rsplit("/", 1)[0], "chrome-extension://")) for url in requests)
