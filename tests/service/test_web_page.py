"""The web page, end to end in a real headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.support.chromium import CHROMIUM, FLAGS
from tests.support.models import TRIGGER

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def test_paste_score_sort_threshold_and_highlight(server, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(server.url + "/")
    expect(page.locator("#model")).to_have_text("model known-1")
    page.fill("#headlines", f"Parliament approves the budget\n\n{TRIGGER} photos of the mayor\n")
    page.click("#score")

    rows = page.locator("tr.result")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-label", "clickbait")  # sorted by score, highest first
    expect(rows.nth(1)).to_have_attribute("data-label", "news")
    assert float(rows.nth(0).locator(".score").inner_text()) > 0.9

    contributions = (
        rows.nth(0)
        .locator("span.word")
        .evaluate_all("spans => spans.map(s => [s.textContent, Number(s.dataset.contribution)])")
    )
    assert max(contributions, key=lambda pair: pair[1])[0] == TRIGGER
    colour = rows.nth(0).locator("span.word", has_text=TRIGGER).evaluate("s => s.style.background")
    assert colour.startswith("rgba(220, 40, 40")

    page.locator("#threshold").fill("0")
    expect(page.locator("#threshold-value")).to_have_text("0.000")
    expect(rows.nth(1)).to_have_attribute("data-label", "clickbait")
    assert page.locator("a[href='/docs']").count() == 1


def test_errors_are_shown_not_swallowed(server, browser: Browser) -> None:
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#headlines", "x" * 1200)
    page.click("#score")
    expect(page.locator("#status")).to_contain_text("limit is 1000")


def test_label_misses_and_suggestions_then_retrain_from_the_page(make_server, browser: Browser) -> None:
    import httpx

    server = make_server(admin_keys="editor:page-key")
    page = browser.new_page()
    page.goto(server.url + "/")
    expect(page.locator("#model")).to_have_text("model known-1")
    page.fill("#headlines", f"You will not believe this mayor\n{TRIGGER} budget vote\nRates unchanged")
    page.click("#score")
    expect(page.locator("tr.result")).to_have_count(3)

    miss = page.locator("tr.result", has_text="You will not believe")
    miss.locator("button[data-label=clickbait]").click()
    expect(page.locator("#label-status")).to_contain_text("Not saved")  # no key yet
    page.fill("#key", "wrong")
    miss.locator("button[data-label=clickbait]").click()
    expect(page.locator("#label-status")).to_contain_text("not valid")
    page.fill("#key", "page-key")
    miss.locator("button[data-label=clickbait]").click()
    expect(miss.locator(".done")).to_have_text("labelled clickbait")

    page.click("#suggest")
    suggestions = page.locator("tr.suggestion")
    expect(suggestions).to_have_count(2)  # the labelled headline is no longer suggested
    expect(suggestions.nth(0)).to_contain_text("Rates unchanged")  # nearest the threshold first
    suggestions.nth(0).locator("button[data-label=news]").click()
    expect(suggestions.nth(0).locator(".done")).to_have_text("labelled news")

    stored = httpx.get(f"{server.url}/v1/labels").json()["labels"]
    assert [(r["headline"], r["label"], r["by"]) for r in stored] == [
        ("You will not believe this mayor", "clickbait", "editor"),
        ("Rates unchanged", "news", "editor"),
    ]

    page.click("#retrain")  # two labels are too few: the job says so, and the page shows it
    expect(page.locator("#job")).to_have_attribute("data-state", "failed", timeout=120_000)
    expect(page.locator("#job")).to_contain_text("needs at least 20")


def test_edit_the_rules_file_from_the_page(make_server, browser: Browser, tmp_path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text('keep title "mayor"\n')
    server = make_server(admin_keys="editor:page-key", rules_file=rules)
    page = browser.new_page()
    page.goto(server.url + "/")
    expect(page.locator("#rules")).to_have_value('keep title "mayor"\n')  # loaded with the page

    page.fill("#rules", 'keep title "mayor"\ndrop title /rates (up|down/\n')
    page.click("#rules-save")
    expect(page.locator("#rules-status")).to_contain_text("Not saved")  # no key yet
    page.fill("#key", "page-key")
    page.click("#rules-save")
    expect(page.locator("#rules-status")).to_contain_text("rules.txt:2")  # the bad line, by number
    assert rules.read_text() == 'keep title "mayor"\n'  # nothing written

    page.fill("#rules", 'keep title "mayor"\ndrop title "rates"\n')
    page.click("#rules-save")
    expect(page.locator("#rules-status")).to_have_text("Saved: 2 rules, in force from the next item.")
    assert rules.read_text() == 'keep title "mayor"\ndrop title "rates"\n'

    page.fill("#headlines", f"{TRIGGER} photos of the mayor\nRates unchanged\nParliament approves the budget")
    page.click("#score")
    rows = page.locator("tr.result")
    expect(rows).to_have_count(3)
    mayor, rates = rows.filter(has_text="mayor"), rows.filter(has_text="Rates")
    expect(mayor).to_have_attribute("data-label", "news")  # the model's clickbait, kept by the rule
    expect(mayor.locator(".kinds")).to_have_text("rule:rules.txt:1")
    expect(rates).to_have_attribute("data-label", "clickbait")
    page.locator("#threshold").fill("0")  # a rule's label holds at any threshold
    expect(mayor).to_have_attribute("data-label", "news")
    expect(rows.filter(has_text="Parliament")).to_have_attribute("data-label", "clickbait")
