"""The reader's personal layer in the browser extension, with no service (service/extension/
local-personal.js, a port of classifier/personal.py's PersonalLayer), in Debian's Chromium:

- parity: the module, loaded in an extension page, fitted on vectors, shared scores, labels and
  headlines made here, moves each headline's logit as the Python fit on the same inputs does, and
  reads the same tokens and marks, Unicode included (the checkout's extension folder: no model, no
  npm step needed);
- end to end: on a page the local model scores, the reader's labels from the context menu teach
  the layer, and a similar headline they did not label is dimmed for them, its badge and the
  popup saying their labels did it; the options page's switch turns the layer off (the shared
  answers again) and on, and "Forget my labels" removes the labels and the layer.

The page's headlines: two quoted statements the reader labels as teasers, two more the default model
scores far below its threshold that the layer learnt from those two moves above it, and plain news
it leaves alone (classifier/personal.py reads a headline's quotes and colons as marks of its own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from classifier.personal import MARKS, NEWTON_STEPS, PersonalLayer, mark_features, tokens
from service.cli import main
from service.cli.extension_build import PERSONAL_FILE, personal_settings
from service.extension_model import NODE_MODULES, RUNTIME_FILES
from service.settings import ServiceSettings
from tests.support.extension_browser import ExtensionBrowser, extension_browser, static_site
from tests.support.extension_pages import TEASERS, teaser

pytestmark = pytest.mark.browser

SOURCE = Path(__file__).resolve().parents[2] / "service" / "extension"
FIRST_LOAD_MS = 120_000  # the first page loads the model (WebAssembly compiled) on a busy 2-core CPU
LEARN_MS = 60_000  # a label: the model's pass over it, the fit, the page's headlines scored again

LABELLED = ['Minister: "We will not raise taxes this year"', 'Mayor says "the new bridge opens in May"']
SIMILAR = [
    'Central bank governor: "Inflation will fall next year"',
    'Health minister: "Hospitals get new beds"',
]
PLAIN = [
    "Parliament approves the 2027 state budget after a two-day debate",
    "EU foreign ministers meet in Brussels to discuss sanctions",
]

PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>News</title></head>
<body><main><article><h1>Budget week</h1><p>The chamber voted late on Thursday.</p></article>
<aside><ul>
  {"".join(teaser("Site", title) for title in [TEASERS[0], *LABELLED, *SIMILAR, *PLAIN])}
</ul></aside></main></body></html>
"""

# Headlines with every mark, Unicode case folding and word boundaries Python's re and JavaScript's
# regular expressions read differently unless spelt out
PARITY_HEADLINES = [
    'Minister: "We will not raise taxes this year"',
    "You won't believe what she looks like NOW!",
    "10 photos that will make your jaw drop...",
    "Cum arată acum fosta prezentatoare TV (FOTO)",
    "ŞOK: İstanbul'da büyük yangın… ıi",
    "¿Qué pasó? «Nadie lo sabe» [VIDEO]",
    "Straße ẞ ΟΔΟΣ ﬁnal ＂quoted＂ ٣ apples",
    "Guvernul a aprobat bugetul de stat pentru anul viitor",
    "Why do cats purr? Scientists explain",
    "ÎNCĂ o zi: „Nu mai pot”",
    "Central bank holds rate at 6.5 percent",
    "__proto__ constructor toString hasOwnProperty",
]
HELD_OUT = [
    'Governor: "Inflation will fall"',
    "EU ministers meet in Brussels",
    "WOW! 7 tricks doctors hate",
    "   ",
    "ᏣᎳᎩ ꮳꮃꭹ OK",
    "Budget: 2027 (draft) approved",
]


def layer_inputs(seed: int, n: int, hidden: int = 384) -> dict:
    """Made-up pooled vectors near one another (as E5's are), shared scores and labels."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=hidden)
    return {
        "vectors": (base + 0.3 * rng.normal(size=(n, hidden))).tolist(),
        "probs": rng.uniform(0.02, 0.98, n).tolist(),
        "held_vectors": (base + 0.3 * rng.normal(size=(len(HELD_OUT), hidden))).tolist(),
    }


@pytest.fixture()
def source_browser(tmp_path: Path) -> Iterator[ExtensionBrowser]:
    """The checkout's extension folder, as it loads unpacked: its scripts, no model."""
    with extension_browser(SOURCE, tmp_path / "profile") as browser:
        yield browser


def test_module_fits_and_shifts_as_the_python_layer(source_browser: ExtensionBrowser) -> None:
    settings = personal_settings()
    threshold = 0.535
    cases = [
        ("both classes", [1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0]),
        ("teasers only", [1] * len(PARITY_HEADLINES)),
        ("one label", [0]),
    ]
    page = source_browser.context.new_page()
    page.goto(source_browser.url("popup.html"))
    page.add_script_tag(url=source_browser.url("local-personal.js"))
    assert page.evaluate("LocalPersonal.MARKS.map(([name]) => name)") == list(MARKS)
    every = PARITY_HEADLINES + HELD_OUT
    read = page.evaluate(
        "hs => hs.map(h => [[...LocalPersonal.tokens(h)], LocalPersonal.markFeatures(h)])", every
    )
    for headline, (bag, marks) in zip(every, read, strict=True):
        assert set(bag) == tokens(headline), headline
        assert marks == mark_features([headline])[0].tolist(), headline

    for seed, (name, labels) in enumerate(cases):
        made = layer_inputs(seed, len(labels))
        headlines = PARITY_HEADLINES[: len(labels)]
        python = PersonalLayer.fit(
            "test",
            np.array(made["vectors"]),
            made["probs"],
            labels,
            headlines,
            threshold,
            settings["penalty"],
            settings["bias_penalty"],
            settings["words"],
            settings["marks"],
        )
        browser = page.evaluate(
            """([inputs, settings]) => {
                const layer = LocalPersonal.fit(inputs, settings);
                return {
                    labelled: LocalPersonal.shift(layer, inputs.vectors, inputs.headlines),
                    held: LocalPersonal.shift(layer, inputs.held_vectors, inputs.held_out),
                    applied: LocalPersonal.apply(layer, inputs.probs, inputs.vectors, inputs.headlines),
                    bias: layer.bias,
                    marks: layer.mark_weights,
                    tokens: Object.entries(layer.token_weights), // a "__proto__" key survives as an entry
                };
            }""",
            [
                {**made, "model": "test", "labels": labels, "headlines": headlines, "threshold": threshold}
                | {"held_out": HELD_OUT},
                settings,
            ],
        )
        held = np.array(made["held_vectors"])
        np.testing.assert_allclose(
            browser["labelled"], python.shift(np.array(made["vectors"]), headlines), atol=1e-4, err_msg=name
        )
        np.testing.assert_allclose(browser["held"], python.shift(held, HELD_OUT), atol=1e-4, err_msg=name)
        np.testing.assert_allclose(
            browser["applied"],
            python.apply(np.array(made["probs"]), np.array(made["vectors"]), headlines),
            atol=1e-4,
            err_msg=name,
        )
        assert abs(browser["bias"] - python.bias) <= 1e-4, name
        assert browser["marks"].keys() == python.mark_weights.keys()
        assert all(abs(browser["marks"][m] - w) <= 1e-4 for m, w in python.mark_weights.items()), name
        found = dict(browser["tokens"])
        assert found.keys() == python.token_weights.keys(), name
        assert all(abs(found[t] - w) <= 1e-4 for t, w in python.token_weights.items()), name
        assert np.ptp(browser["held"]) > 0.01, name  # the layer does move headlines apart
    page.close()


def test_personal_settings_are_the_services_defaults() -> None:
    fields = ServiceSettings.model_fields
    assert personal_settings() == {
        "penalty": fields["personal_penalty"].default,
        "bias_penalty": fields["personal_bias_penalty"].default,
        "words": fields["personal_words"].default,
        "marks": fields["personal_marks"].default,
        "max_labels": fields["personal_max_labels"].default,
        "newton_steps": NEWTON_STEPS,
        "mark_names": list(MARKS),
    }


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ExtensionBrowser, Path]]:
    """The built extension (the model in it): one browser for the module."""
    if not all((NODE_MODULES / source).is_file() for source in RUNTIME_FILES.values()):
        pytest.skip("the extension's web runtime is not installed: npm ci at the repository root")
    out = tmp_path_factory.mktemp("extension")
    assert main(["extension", "--out", str(out), "--browser", "chromium"]) == 0
    folder = out / "clickbait-extension-chromium"
    with extension_browser(folder, out / "profile") as browser:
        browser.reset()  # the options tab the install opens; the defaults stay: no service
        yield browser, folder


@pytest.fixture(scope="module")
def news_site() -> Iterator[str]:
    with static_site({"news.html": PAGE}) as url:
        yield f"{url}/news.html"


def link(page: Page, title: str):
    return page.locator("a", has_text=title)


def badge_after(page: Page, title: str):
    return page.locator(f"a:has-text({json.dumps(title, ensure_ascii=False)}) + clickbait-badge button")


def label_from_menu(browser: ExtensionBrowser, page: Page, title: str, item: str) -> None:
    """The reader right-clicks a link and picks a context-menu entry: the native menu is out of a
    driver's reach, so its click handler (background.js's labelFromMenu) is run with what Chromium
    passes it."""
    link(page, title).click(button="right")
    page.keyboard.press("Escape")
    popup = browser.popup(page)
    tab = popup.evaluate("async url => (await chrome.tabs.query({})).find(t => t.url === url).id", page.url)
    popup.close()
    browser.context.service_workers[0].evaluate(
        "([item, tab]) => labelFromMenu({ menuItemId: item, frameId: 0 }, { id: tab })", [item, tab]
    )


def local_answer(browser: ExtensionBrowser, headlines: list[str]) -> dict:
    """What the service worker's local scoring answers this profile for ``headlines``."""
    return browser.context.service_workers[0].evaluate("hs => scoreLocally(hs)", headlines)


def options(browser: ExtensionBrowser) -> Page:
    page = browser.context.new_page()
    page.goto(browser.url("options.html"))
    expect(page.locator("#max-requests")).not_to_have_value("")  # the stored values are in
    return page


def switch(browser: ExtensionBrowser, on: bool) -> None:
    page = options(browser)
    page.set_checked("#personal-layer", on)
    page.click("button[type=submit]")
    expect(page.locator("#status:not(.problem)")).not_to_be_empty()
    page.close()


def test_labels_teach_a_layer_in_the_browser_that_the_switch_turns_off(
    chromium: tuple[ExtensionBrowser, Path], news_site: str
) -> None:
    browser, folder = chromium
    assert json.loads((folder / PERSONAL_FILE).read_text()) == personal_settings()
    page = browser.context.new_page()
    page.goto(news_site)
    expect(link(page, TEASERS[0])).to_have_css("opacity", "0.35", timeout=FIRST_LOAD_MS)
    for title in LABELLED + SIMILAR + PLAIN:
        assert link(page, title).get_attribute("style") is None, title
    asked = SIMILAR + PLAIN
    shared = local_answer(browser, asked)
    assert all(score < shared["threshold"] for score in shared["scores"])
    assert "personal" not in shared

    for title in LABELLED:
        label_from_menu(browser, page, title, "clickbait-teaser")
        expect(badge_after(page, title)).to_have_text("clickbait ✓")
    # the similar headlines they did not label: teasers for this reader now, and the page says why
    for title in SIMILAR:
        expect(link(page, title)).to_have_css("opacity", "0.35", timeout=LEARN_MS)
        expect(badge_after(page, title)).to_contain_text("your labels")
    for title in PLAIN:
        assert link(page, title).get_attribute("style") is None, title
    expect(browser.popup(page).locator("#scorer")).to_contain_text(
        "Your own labels changed 2 of its answers."
    )
    link(page, SIMILAR[0]).hover()
    expect(page.locator("clickbait-card .score")).to_contain_text("Your own labels changed the answer")

    layer = browser.storage("personal")
    assert (layer["labels"], layer["headlines"], layer["model"]) == ([1, 1], LABELLED, shared["model"])
    assert set(browser.storage("personalVectors")) == set(LABELLED)  # a refit needs no pass over them
    mine = local_answer(browser, asked)
    assert mine["decided_by"] == ["personal", "personal", None, None]
    assert [why["shared_score"] for why in mine["personal"]] == pytest.approx(shared["scores"], abs=1e-6)
    assert all(score >= mine["threshold"] for score in mine["scores"][:2])

    switch(browser, on=False)  # the shared answers again, the reader's own labels still kept
    for title in SIMILAR:
        expect(link(page, title)).to_have_css("opacity", "1", timeout=LEARN_MS)
        expect(badge_after(page, title)).to_have_count(0)
    assert local_answer(browser, asked)["scores"] == pytest.approx(shared["scores"], abs=1e-6)
    expect(link(page, LABELLED[0])).to_have_css("opacity", "0.35")

    switch(browser, on=True)
    expect(link(page, SIMILAR[0])).to_have_css("opacity", "0.35", timeout=LEARN_MS)

    forget = options(browser)  # the labels and the layer gone: the shared model's answers
    forget.click("#forget-labels")
    expect(forget.locator("#status")).to_have_text(
        "Your labels and the filter they taught are gone from this browser."
    )
    forget.close()
    assert browser.storage("personal") is None and browser.storage("corrections") is None
    assert browser.storage("personalVectors") is None
    for title in SIMILAR + LABELLED:
        expect(badge_after(page, title)).to_have_count(0, timeout=LEARN_MS)
    assert local_answer(browser, asked)["scores"] == pytest.approx(shared["scores"], abs=1e-6)
