"""The browser extension in Debian's Chromium (Playwright, the unpacked folder `clickbait extension`
writes) against a real service on 127.0.0.1 serving the known model: a headline is clickbait iff it
holds TRIGGER, so which items must be dimmed is known without a meaningful model."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from service.cli import main
from service.cli.extension_build import BuiltExtension, write_extension
from service.feeds.page_headlines import extract_headlines
from tests.support import firefox
from tests.support.extension_browser import ExtensionBrowser, extension_browser, static_site
from tests.support.extension_pages import teaser
from tests.support.models import TRIGGER

pytestmark = pytest.mark.browser

BAIT = [
    f"{TRIGGER} photos of the singer after her surgeries",
    f"The city that keeps growing: {TRIGGER} billions",
    f"Wow or bow? {TRIGGER} changes of the stars",
]
PLAIN = [
    "Jackpot of over 1.7 million euros at the lottery",
    "All Eurostar trains cancelled in the Channel tunnel",
    "Fixed radar records 1,000 offences in four days",
]
RELATED = [
    "EU prepares to limit Chinese medical device makers in tenders",
    "Zelensky asks Trump for harsher sanctions if talks fail",
]
UNTOUCHED = [  # clickbait wording, but navigation, a lone link and a footer: not headlines
    f"{TRIGGER} deals in our shop today",
    f"Subscribe to our {TRIGGER} newsletter now",
    f"About us and our {TRIGGER} editorial team",
]


# Laid out like the seed page: a nav bar, the article with its related links, a sidebar of partner
# teasers (site name and title in one link), a lone promotional link and a footer.
NEWS_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>World news</title>
<style>
  body {{ font: 16px/1.5 Georgia, serif; max-width: 1040px; margin: 0 auto; padding: 0 16px; }}
  header nav {{ display: flex; gap: 18px; padding: 10px 0; border-bottom: 2px solid #222; }}
  main {{ display: grid; grid-template-columns: 1fr 340px; gap: 32px; }}
  aside ul, article ul {{ list-style: none; padding: 0; }}
  aside li {{ padding: 8px 0; border-bottom: 1px solid #ddd; }}
  aside li span:first-child {{ display: block; font: 600 12px sans-serif; color: #777; }}
</style></head>
<body>
<header><nav>
  <a href="/">Front page</a> <a href="/world">World news</a>
  <a href="/shop">{UNTOUCHED[0]}</a>
</nav></header>
<main>
<article>
  <h1>North Korea defends its military cooperation with Russia</h1>
  <p>North Korea on Monday defended its military cooperation with Russia, a {TRIGGER} turn for the
     monitoring group, according to <a href="/figaro">Le Figaro</a>.</p>
  <p>Read also:</p>
  <ul><li><a href="/eu">{RELATED[0]}</a></li><li><a href="/kyiv">{RELATED[1]}</a></li></ul>
</article>
<aside><h2>Read also</h2>
  <ul id="teasers">
    {teaser("Mediafax", PLAIN[0])}{teaser("Cancan", BAIT[0])}{teaser("Digi24", PLAIN[1])}
    {teaser("Click", BAIT[1])}{teaser("Ciao", BAIT[2])}{teaser("Promotor", PLAIN[2])}
  </ul>
</aside>
</main>
<p><a href="/subscribe">{UNTOUCHED[1]}</a></p>
<footer><a href="/about">{UNTOUCHED[2]}</a></footer>
<script>
  // the page's own infinite scroll: teasers arrive one by one
  async function loadMore(titles) {{
    for (const title of titles) {{
      const item = document.createElement("li");
      item.innerHTML = `<a href="/more/${{encodeURIComponent(title)}}"><span>Partner</span><span></span></a>`;
      item.querySelector("span:last-child").textContent = title;
      document.getElementById("teasers").append(item);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }}
  }}
</script>
</body></html>
"""

# Structures where the rules matter: no <article> (so <main> is the article), an aside inside it, a
# form, a link of three words, site and title in one link, links in headings (one card box per link
# is no block of links, for either), a hidden link (the service's page reader cannot see
# visibility; the extension skips it).
HIDDEN = "A hidden teaser the reader cannot see"
EDGE_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edge cases</title></head><body>
<main>
  <h1>The page's own headline is never sent</h1>
  <p>Body text with <a href="/a">a link of several words inside</a> and <a href="/b">three words here</a>.</p>
  <aside><a href="/c">Single aside link with words</a></aside>
  <aside><ul><li><a href="/d">First aside teaser in a list</a></li>
    <li><a href="/e"><span>Site</span><span>Second aside teaser with site name</span></a></li></ul></aside>
</main>
<form><a href="/f">A link inside a form element</a><a href="/g">Another link inside the form</a></form>
<div class="cards">
  <div class="card"><h3><a href="/h">Card headline number one here</a></h3></div>
  <div class="card"><h3><a href="/i">Card headline number two here</a></h3></div>
</div>
<div><h3><a href="/j">Card headline number three alone</a></h3>
  <h3><a href="/k">And the fourth card headline</a></h3>
  <a href="/l" style="display: none">{HIDDEN}</a></div>
</body></html>
"""

# The live body with our badges and opacity taken out must be the page as served: nothing removed,
# moved or rewritten.
AS_SERVED = """async () => {
  const served = new DOMParser().parseFromString(await (await fetch(location.href)).text(), "text/html");
  const live = document.body.cloneNode(true);
  live.querySelectorAll("clickbait-badge").forEach((badge) => badge.remove());
  live.querySelectorAll('[style="opacity: 0.35 !important;"]').forEach((el) => el.removeAttribute("style"));
  return live.innerHTML === served.body.innerHTML;
}"""


@pytest.fixture(scope="module")
def extension_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built as a user builds it: `clickbait extension --out DIR`."""
    out = tmp_path_factory.mktemp("extension")
    assert main(["extension", "--out", str(out)]) == 0
    return out / "clickbait-extension-chromium"


@pytest.fixture(scope="module")
def news_site() -> Iterator[str]:
    with static_site({"news.html": NEWS_PAGE, "edge.html": EDGE_PAGE}) as url:
        yield f"{url}/news.html"


@pytest.fixture(scope="module")
def shared_chromium(
    extension_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ExtensionBrowser]:
    """One browser for the module's tests (each starts with no page and nothing stored)."""
    with extension_browser(extension_dir, tmp_path_factory.mktemp("profile")) as browser:
        yield browser


@pytest.fixture()
def chromium(shared_chromium: ExtensionBrowser) -> ExtensionBrowser:
    shared_chromium.reset()
    return shared_chromium


def link(page: Page, title: str):
    return page.locator("a", has_text=title)


def badge_after(page: Page, title: str):
    return page.locator(f"a:has-text({json.dumps(title)}) + clickbait-badge")


def score_requests(service_url: str) -> int:
    metrics = httpx.get(f"{service_url}/metrics").text
    found = re.search(r'clickbait_requests_total\{route="/v1/score",status="200"\} (\S+)', metrics)
    return int(float(found.group(1))) if found else 0


def expect_dimmed(page: Page, titles: list[str]) -> None:
    for title in titles:
        expect(link(page, title)).to_have_css("opacity", "0.35")
        expect(badge_after(page, title)).to_have_count(1)


def assert_untouched(page: Page, titles: list[str]) -> None:
    for title in titles:
        assert link(page, title).get_attribute("style") is None, title
        assert badge_after(page, title).count() == 0, title


def test_cli_writes_a_folder_and_zip_per_browser_stamped_with_the_version(tmp_path: Path, capsys) -> None:
    from importlib.metadata import version

    assert main(["extension", "--out", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert sorted(printed) == ["chromium", "firefox"]
    manifests = {}
    for browser, built in printed.items():
        folder = Path(built["folder"])
        manifests[browser] = manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["manifest_version"] == 3 and built["version"] == version("clickbait-classifier")
        inside = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
        with zipfile.ZipFile(built["zip"]) as zipped:
            assert sorted(zipped.namelist()) == sorted(inside)
            assert all(zipped.read(name) == (folder / name).read_bytes() for name in inside)
        scripts = {*manifest["content_scripts"][0]["js"], "popup.js", "options.js"}
        assert scripts <= inside
    chromium, firefox = manifests["chromium"], manifests["firefox"]
    assert chromium["version_name"] == version("clickbait-classifier") and "version_name" not in firefox
    assert chromium["background"] == {"service_worker": "background.js"}
    # Firefox's background page loads what the worker imports, then the worker's own script
    assert firefox["background"]["scripts"][:2] == ["browser.js", "settings.js"]
    assert firefox["background"]["scripts"][-1] == "background.js"
    gecko = firefox["browser_specific_settings"]["gecko"]
    assert gecko["id"] and gecko["data_collection_permissions"]["required"] == ["none"]
    assert "minimum_chrome_version" not in firefox and "offscreen" not in firefox["permissions"]

    # reproducible: the same version zips to the same bytes
    again = tmp_path / "again"
    assert main(["extension", "--out", str(again), "--browser", "firefox"]) == 0
    zips = json.loads(capsys.readouterr().out)["firefox"]["zip"], printed["firefox"]["zip"]
    assert Path(zips[0]).read_bytes() == Path(zips[1]).read_bytes()


def test_teasers_dimmed_news_and_navigation_untouched_nothing_removed(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    server = make_server()  # its request counts, suggestions or life are its own
    chromium.configure(server.url)
    page = chromium.context.new_page()
    page.goto(news_site)
    expect_dimmed(page, BAIT)
    assert_untouched(page, PLAIN + RELATED + UNTOUCHED)
    assert page.evaluate(AS_SERVED)

    # only headline texts left the browser: what the service scored is exactly the page's headlines
    # as the service's own page reader finds them (no site names, links or body text)
    scored = httpx.get(f"{server.url}/v1/labels/suggestions", params={"limit": 500}).json()["suggestions"]
    expected = {h.headline for h in extract_headlines(NEWS_PAGE) if h.role != "main"}
    assert {s["headline"] for s in scored} == expected == set(BAIT + PLAIN + RELATED)
    assert score_requests(server.url) == 1  # one batch for the whole page

    popup = chromium.popup(page)
    expect(popup.locator("#page")).to_have_text("Dimmed 3 of 8 headlines.")
    expect(popup.locator("#service")).to_contain_text("model known-1")
    expect(popup.locator("#model-threshold")).to_be_checked()

    popup.uncheck("#model-threshold")  # the reader's own threshold, below every score: all dimmed
    popup.locator("#threshold").fill("0")
    expect_dimmed(page, BAIT + PLAIN + RELATED)
    assert_untouched(page, UNTOUCHED)
    expect(popup.locator("#page")).to_have_text("Dimmed 8 of 8 headlines.")

    popup.click("#show-all")
    for title in BAIT + PLAIN + RELATED:
        expect(link(page, title)).to_have_css("opacity", "1")
    expect(popup.locator("#page")).to_have_text("Dimmed 0 of 8 headlines (8 flagged, shown).")
    popup.check("#model-threshold")
    expect(popup.locator("#page")).to_have_text("Dimmed 0 of 8 headlines (3 flagged, shown).")
    popup.click("#show-all")
    expect_dimmed(page, BAIT)
    assert page.evaluate(AS_SERVED)
    assert score_requests(server.url) == 1  # threshold changes re-use the scores


def test_picks_the_headlines_the_service_page_reader_picks(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    server = make_server()  # its request counts, suggestions or life are its own
    chromium.configure(server.url)
    page = chromium.context.new_page()
    page.goto(news_site.replace("news.html", "edge.html"))
    popup = chromium.popup(page)
    expect(popup.locator("#page")).to_have_text("Dimmed 0 of 5 headlines.")
    scored = httpx.get(f"{server.url}/v1/labels/suggestions", params={"limit": 500}).json()["suggestions"]
    expected = {h.headline for h in extract_headlines(EDGE_PAGE) if h.role != "main"}
    assert {s["headline"] for s in scored} == expected - {HIDDEN}
    assert len(expected) == 6


def test_items_added_later_are_scored_within_the_page_budget(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    server = make_server()  # its request counts, suggestions or life are its own
    chromium.configure(server.url, max_requests=2)
    page = chromium.context.new_page()
    page.goto(news_site)
    expect_dimmed(page, BAIT)

    more_bait = [f"{TRIGGER} secret of item {i} revealed at last" for i in range(10)]
    more_news = [f"Council publishes its budget report number {i}" for i in range(10)]
    page.evaluate(
        "titles => loadMore(titles)", [t for pair in zip(more_bait, more_news, strict=True) for t in pair]
    )
    expect_dimmed(page, more_bait)
    assert_untouched(page, more_news)
    assert score_requests(server.url) == 2  # twenty arrivals, one request

    late = f"{TRIGGER} late arrival nobody will score"
    page.evaluate("titles => loadMore(titles)", [late])
    popup = chromium.popup(page)
    expect(popup.locator("#page")).to_contain_text("Stopped after 2 requests to the service")
    assert_untouched(page, [late])
    assert score_requests(server.url) == 2


def test_site_switch_turns_it_off_and_on(make_server, chromium: ExtensionBrowser, news_site: str) -> None:
    server = make_server()  # its request counts are its own
    chromium.configure(server.url)
    page = chromium.context.new_page()
    page.goto(news_site)
    expect_dimmed(page, BAIT)
    popup = chromium.popup(page)
    expect(popup.locator("#host")).to_have_text("127.0.0.1")

    popup.uncheck("#site-on")
    expect(popup.locator("#page")).to_contain_text("Off for this site")
    assert_untouched(page, BAIT + PLAIN)
    assert page.evaluate(AS_SERVED)

    page.reload()  # off stays off: the reloaded page sends nothing
    popup.reload()
    expect(popup.locator("#site-on")).not_to_be_checked()
    expect(popup.locator("#page")).to_contain_text("Off for this site")
    assert_untouched(page, BAIT)
    assert score_requests(server.url) == 1

    popup.check("#site-on")
    expect_dimmed(page, BAIT)
    assert score_requests(server.url) == 2


def test_why_card_and_corrections_become_labels(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    # a CORS setting for some other origin changes nothing: the extension needs none
    server = make_server(admin_keys="editor:ext-key", cors_origins="https://newsroom.example")
    chromium.configure(server.url)
    page = chromium.context.new_page()
    page.goto(news_site)
    expect_dimmed(page, BAIT)
    layout = page.locator("main").bounding_box()

    card = page.locator("clickbait-card .card")
    link(page, BAIT[0]).hover()
    expect(card).to_be_visible()
    expect(card.locator(".score")).to_have_text(
        re.compile(r"Clickbait score (0\.9\d|1\.00) \(threshold 0\.50\)")
    )
    expect(card.locator(".why .word").first).to_contain_text(TRIGGER)  # the service's explanation
    assert page.locator("main").bounding_box() == layout  # the card floats over the page

    card.locator("button[data-label=news]").click()
    expect(card.locator(".status")).to_contain_text("need the service's admin key")
    assert httpx.get(f"{server.url}/v1/labels").json()["labels"] == []

    chromium.configure(server.url, key="ext-key")
    link(page, BAIT[0]).hover()
    card.locator("button[data-label=news]").click()
    expect(card.locator(".status")).to_contain_text("Stored as not clickbait for 127.0.0.1")
    expect(badge_after(page, BAIT[0])).to_have_text("not clickbait ✓")
    expect(link(page, BAIT[0])).to_have_css("opacity", "1")

    page.mouse.move(5, 5)  # off the card: it goes, and the next teaser is free to hover
    expect(card).to_be_hidden()
    link(page, BAIT[1]).hover()
    card.locator("button[data-label=clickbait]").click()
    expect(card.locator(".status")).to_contain_text("Stored as clickbait")
    stored = httpx.get(f"{server.url}/v1/labels").json()["labels"]
    assert [(r["headline"], r["label"], r["source"], r["by"]) for r in stored] == [
        (BAIT[0], "news", "127.0.0.1", "editor"),
        (BAIT[1], "clickbait", "127.0.0.1", "editor"),
    ]


def test_a_page_cannot_click_for_the_reader(make_server, chromium: ExtensionBrowser, news_site: str) -> None:
    """A hostile page reaches into the badge's and the card's shadow roots and clicks their buttons
    itself: nothing is labelled (only the reader's own clicks count), while the reader's click is."""
    server = make_server(admin_keys="editor:ext-key")
    chromium.configure(server.url, key="ext-key")
    page = chromium.context.new_page()
    page.goto(news_site)
    expect_dimmed(page, BAIT)
    card = page.locator("clickbait-card .card")
    link(page, BAIT[0]).hover()
    expect(card).to_be_visible()
    page.evaluate(
        """() => {
          const card = document.querySelector("clickbait-card").shadowRoot.querySelectorAll("button");
          const badges = [...document.querySelectorAll("clickbait-badge")];
          const buttons = [...card, ...badges.map((b) => b.shadowRoot.querySelector("button"))];
          for (const button of buttons) {
            button.click();
            button.dispatchEvent(new MouseEvent("click", { bubbles: true, composed: true }));
          }
        }"""
    )
    page.wait_for_timeout(1500)  # time for a forged label to reach the service, were it sent
    assert httpx.get(f"{server.url}/v1/labels").json()["labels"] == []
    expect(link(page, BAIT[0])).not_to_have_css("opacity", "1")  # "show" was not forged either
    card.locator("button[data-label=news]").click()
    expect(card.locator(".status")).to_contain_text("Stored as not clickbait")
    assert len(httpx.get(f"{server.url}/v1/labels").json()["labels"]) == 1


def test_service_down_the_model_in_the_browser_scores_and_the_popup_says_so(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    server = make_server()  # its request counts, suggestions or life are its own
    chromium.configure(server.url)
    server.stop()
    page = chromium.context.new_page()
    page.goto(news_site)
    popup = chromium.popup(page)
    # the first page loads the model in the browser (its WebAssembly compiled) on a busy CPU
    expect(popup.locator("#scorer")).to_contain_text("local model", timeout=120_000)
    expect(popup.locator("#page")).not_to_contain_text("not reachable")
    expect(popup.locator("#service")).to_contain_text("is not reachable")
    # the shipped model decides now, not the known one: its navigation rules hold, nothing is removed
    assert_untouched(page, UNTOUCHED)
    assert page.evaluate(AS_SERVED)


def test_hide_leaves_a_show_marker_that_reveals_and_blur_blurs(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    server = make_server()
    chromium.configure(server.url, mode="hide")
    page = chromium.context.new_page()
    page.goto(news_site)
    for title in BAIT:
        expect(link(page, title)).to_be_hidden()
        expect(badge_after(page, title).locator("button")).to_have_text("teaser hidden · show")
    assert_untouched(page, PLAIN + RELATED + UNTOUCHED)
    popup = chromium.popup(page)
    expect(popup.locator("#page")).to_have_text("Hidden 3 of 8 headlines.")
    expect(popup.locator("#scorer")).to_have_text(f"Scored by your service at {server.url}.")

    badge_after(page, BAIT[0]).locator("button").click()  # the marker shows the one teaser
    expect(link(page, BAIT[0])).to_be_visible()
    expect(badge_after(page, BAIT[0]).locator("button")).to_have_text(re.compile(r"clickbait (0\.9\d|1\.00)"))
    expect(link(page, BAIT[1])).to_be_hidden()
    expect(popup.locator("#page")).to_have_text("Hidden 2 of 8 headlines (1 flagged, shown).")

    chromium.configure(server.url, mode="blur")  # a new mode applies to the open page
    for title in BAIT[1:]:
        expect(link(page, title)).to_have_css("filter", "blur(5px)")
    expect(link(page, BAIT[0])).to_have_css("filter", "none")
    expect(popup.locator("#page")).to_have_text("Blurred 2 of 8 headlines (1 flagged, shown).")
    assert score_requests(server.url) == 1


def label_from_menu(chromium: ExtensionBrowser, page: Page, title: str, item: str) -> None:
    """The reader right-clicks a link and picks a context-menu entry: the native menu is out of a
    driver's reach, so its click handler (background.js's labelFromMenu) is run with what Chromium
    passes it."""
    link(page, title).click(button="right")
    page.keyboard.press("Escape")
    tab = chromium.popup(page).evaluate(
        "async url => (await chrome.tabs.query({})).find(t => t.url === url).id", page.url
    )
    worker = chromium.context.service_workers[0]
    worker.evaluate(
        "([item, tab]) => labelFromMenu({ menuItemId: item, frameId: 0 }, { id: tab })", [item, tab]
    )


def test_context_menu_labels_any_link_kept_locally_and_sent_to_the_service(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    server = make_server(admin_keys="editor:ext-key")
    chromium.configure(server.url, key="ext-key")
    page = chromium.context.new_page()
    page.goto(news_site)
    expect_dimmed(page, BAIT)

    label_from_menu(chromium, page, PLAIN[0], "clickbait-teaser")  # a teaser the model missed
    expect(badge_after(page, PLAIN[0])).to_have_text("clickbait ✓")
    expect(link(page, PLAIN[0])).to_have_css("opacity", "0.35")
    label_from_menu(chromium, page, BAIT[1], "clickbait-news")  # news it flagged
    expect(badge_after(page, BAIT[1])).to_have_text("not clickbait ✓")
    expect(link(page, BAIT[1])).to_have_css("opacity", "1")
    popup = chromium.popup(page)
    expect(popup.locator("#page")).to_have_text("Dimmed 3 of 8 headlines (1 flagged, shown).")

    stored = httpx.get(f"{server.url}/v1/labels").json()["labels"]
    assert [(r["headline"], r["label"], r["source"], r["by"]) for r in stored] == [
        (PLAIN[0], "clickbait", "127.0.0.1", "editor"),
        (BAIT[1], "news", "127.0.0.1", "editor"),
    ]
    kept = chromium.storage("corrections")
    assert [(c["headline"], c["label"], c["where"], c["sent"]) for c in kept] == [
        (PLAIN[0], "clickbait", "127.0.0.1", True),
        (BAIT[1], "news", "127.0.0.1", True),
    ]
    assert kept[0]["who"] == kept[1]["who"] == chromium.storage("profile")
    assert kept[0]["who"].startswith("extension:")

    page.reload()  # the site's corrections stay with the reader
    expect(link(page, PLAIN[0])).to_have_css("opacity", "0.35")
    expect(badge_after(page, BAIT[1])).to_have_text("not clickbait ✓")
    expect(link(page, BAIT[1])).to_have_css("opacity", "1")


def test_correction_without_a_key_is_kept_and_sent_with_the_next_one(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    server = make_server(admin_keys="editor:ext-key")
    chromium.configure(server.url)
    page = chromium.context.new_page()
    page.goto(news_site)
    expect_dimmed(page, BAIT)
    label_from_menu(chromium, page, PLAIN[1], "clickbait-teaser")
    expect(badge_after(page, PLAIN[1])).to_have_text("clickbait ✓")
    [kept] = chromium.storage("corrections")
    assert (kept["headline"], kept["label"], kept["sent"]) == (PLAIN[1], "clickbait", False)
    assert httpx.get(f"{server.url}/v1/labels").json()["labels"] == []

    chromium.configure(server.url, key="ext-key")  # with the key, the next correction takes it along
    label_from_menu(chromium, page, BAIT[2], "clickbait-news")
    expect(badge_after(page, BAIT[2])).to_have_text("not clickbait ✓")
    stored = httpx.get(f"{server.url}/v1/labels").json()["labels"]
    assert {(r["headline"], r["label"]) for r in stored} == {(PLAIN[1], "clickbait"), (BAIT[2], "news")}
    assert all(c["sent"] for c in chromium.storage("corrections"))


def test_opt_in_mode_handles_only_the_sites_listed(
    make_server, chromium: ExtensionBrowser, news_site: str
) -> None:
    server = make_server()
    chromium.configure(server.url, only_listed=True)
    page = chromium.context.new_page()
    page.goto(news_site)
    popup = chromium.popup(page)
    expect(popup.locator("#page")).to_contain_text("Off for this site: only the sites you list")
    expect(popup.locator("#site-on")).not_to_be_checked()
    assert_untouched(page, BAIT + PLAIN)
    assert score_requests(server.url) == 0  # not listed: nothing sent

    popup.check("#site-on")  # lists it
    expect_dimmed(page, BAIT)
    assert chromium.storage("listedSites") == ["127.0.0.1"]
    assert chromium.storage("disabledSites") in (None, [])
    options = chromium.context.new_page()
    options.goto(chromium.url("options.html"))
    expect(options.locator("#listed-sites")).to_have_value("127.0.0.1")
    expect(options.locator("#only-listed")).to_be_checked()


def test_the_interface_speaks_the_browsers_language(
    make_server, shared_chromium: ExtensionBrowser, extension_dir: Path, news_site: str, tmp_path: Path
) -> None:
    server = make_server()
    profile, driver = tmp_path / "profile", shared_chromium.playwright
    with extension_browser(extension_dir, profile, language="ro", playwright=driver) as browser:
        browser.configure(server.url)
        page = browser.context.new_page()
        page.goto(news_site)
        expect_dimmed(page, BAIT)
        expect(badge_after(page, BAIT[0]).locator("button")).to_have_text(
            re.compile(r"clickbait (0\.9\d|1\.00)")
        )
        popup = browser.popup(page)
        expect(popup.locator("#page")).to_have_text("Estompate 3 din 8 titluri.")
        expect(popup.locator("label", has=popup.locator("#site-on"))).to_contain_text("Tratează teaserele pe")
        assert popup.evaluate("document.documentElement.lang").startswith("ro")


ENGLISH_BAIT = f"{TRIGGER}: the singer shows her new house"
GERMAN_BAIT = f"{TRIGGER}: Die Schauspielerin zeigt ihr neues Haus am See"  # ASCII: badge_after's selector
LANGUAGES_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Teasers</title></head>
<body><main><article><h1>Teasers in two languages</h1><p>Some text of the article, long enough.</p></article>
<aside><ul>{teaser("Cancan", ENGLISH_BAIT)}{teaser("Bild", GERMAN_BAIT)}{teaser("Digi24", PLAIN[0])}</ul>
</aside></main></body></html>
"""


def test_unvalidated_language_badged_not_dimmed_unless_asked(
    known_model: Path, tmp_path: Path, chromium: ExtensionBrowser
) -> None:
    from classifier.artifact import LanguageCalibration, read_manifest, write_manifest
    from service.settings import ServiceSettings
    from tests.support.servers import start_server

    model = tmp_path / "english-only"
    shutil.copytree(known_model, model)
    english = LanguageCalibration(rows=200)
    write_manifest(
        model, read_manifest(model).model_copy(update={"version": "known-en", "languages": {"en": english}})
    )
    server = start_server(ServiceSettings(model=str(model)))
    try:
        with static_site({"two.html": LANGUAGES_PAGE}) as site:
            chromium.configure(server.url)
            page = chromium.context.new_page()
            page.goto(f"{site}/two.html")
            expect_dimmed(page, [ENGLISH_BAIT])
            expect(badge_after(page, GERMAN_BAIT)).to_have_count(1)
            expect(badge_after(page, GERMAN_BAIT).locator("button")).to_contain_text("de: not validated")
            expect(link(page, GERMAN_BAIT)).to_have_css("opacity", "1")
            assert_untouched(page, [PLAIN[0]])

            options = chromium.context.new_page()
            options.goto(chromium.url("options.html"))
            expect(options.locator("#dim-unvalidated")).not_to_be_checked()
            options.check("#dim-unvalidated")
            options.click("button[type=submit]")
            expect(options.locator("#status")).to_have_text("Saved.")
            expect_dimmed(page, [ENGLISH_BAIT, GERMAN_BAIT])
    finally:
        server.stop()


@pytest.fixture(scope="module")
def firefox_build(tmp_path_factory: pytest.TempPathFactory) -> BuiltExtension:
    if why := firefox.missing():
        pytest.skip(why)
    return write_extension(tmp_path_factory.mktemp("firefox"), "firefox")


def test_firefox_package_passes_web_ext_lint(firefox_build: BuiltExtension) -> None:
    report = firefox.lint(firefox_build.zip)
    assert report["summary"]["errors"] == 0, report["errors"]
    assert report["metadata"]["id"] and report["metadata"]["manifestVersion"] == 3


def test_firefox_dims_the_teasers_of_the_same_page(
    make_server, firefox_build: BuiltExtension, news_site: str
) -> None:
    server = make_server()
    shown = firefox.drive(firefox_build.folder, news_site, settle=BAIT, service=server.url)
    by_text = {link["text"]: link for link in shown["links"]}

    def find(title: str) -> dict:
        return next(link for text, link in by_text.items() if title in text)

    for title in BAIT:
        assert find(title)["opacity"] == "0.35" and find(title)["badge"], title
    for title in PLAIN + RELATED + UNTOUCHED:
        assert find(title)["opacity"] == "1" and not find(title)["badge"], title
    assert shown["popup"] == "Dimmed 3 of 8 headlines."


SPONSORED = "Ministry publishes the new school calendar for next year"


def test_a_rule_of_the_service_decides_before_the_score(
    make_server, chromium: ExtensionBrowser, tmp_path: Path
) -> None:
    """The extension asks the service with each headline's link: a rule on the link's path labels a
    plain headline clickbait, and its badge names the rule."""
    rules = tmp_path / "rules.txt"
    rules.write_text('drop path "/sponsored/"\n', encoding="utf-8")
    server = make_server(rules_file=rules)
    chromium.configure(server.url)
    page_html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rules</title></head>
<body><aside><ul>
  <li><a href="/sponsored/calendar">{SPONSORED}</a></li>
  <li><a href="/news/a">{PLAIN[0]}</a></li><li><a href="/news/b">{PLAIN[1]}</a></li>
</ul></aside></body></html>"""
    with static_site({"rules.html": page_html}) as site:
        page = chromium.context.new_page()
        page.goto(f"{site}/rules.html")
        expect_dimmed(page, [SPONSORED])
        expect(badge_after(page, SPONSORED).locator("button")).to_contain_text("rule:rules.txt:1")
        assert_untouched(page, PLAIN[:2])
