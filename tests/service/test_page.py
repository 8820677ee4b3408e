"""Headline extraction from a page built like the seed page."""

from __future__ import annotations

from service.feeds.page_headlines import extract_headlines
from tests.support.feed_docs import SEED_LIKE_PAGE
from tests.support.models import TRIGGER


def test_roles_links_and_sites_of_a_seed_like_page() -> None:
    found = extract_headlines(SEED_LIKE_PAGE, "https://www.example.ro/externe/coreea")
    by_role = {}
    for h in found:
        by_role.setdefault(h.role, []).append(h)
    assert [h.headline for h in by_role["main"]] == ["Coreea de Nord își apără cooperarea MILITARĂ cu Rusia"]
    assert [h.link for h in by_role["related"]] == [
        "https://www.example.ro/ue-dispozitive",
        "https://www.example.ro/zelenski",
    ]
    teasers = by_role["teaser"]
    assert [h.site for h in teasers] == ["Mediafax", "Click", "Digi24"]
    assert (
        teasers[1].headline.startswith(f"{TRIGGER}! Orașul-minune")
        and teasers[1].link == "https://www.click.ro/oras"
    )
    assert not any("Contact" in h.headline or "Știri externe" in h.headline for h in found)  # nav, footer


def test_og_title_stands_in_for_a_missing_h1_and_limits_hold() -> None:
    page = (
        '<html><head><meta property="og:title" content="Only the og title here"></head><body></body></html>'
    )
    assert [(h.headline, h.role) for h in extract_headlines(page)] == [("Only the og title here", "main")]
    many = (
        "<ul>"
        + "".join(f'<li><a href="/{i}">teaser number {i} of many more</a></li>' for i in range(50))
        + "</ul>"
    )
    assert len(extract_headlines(many, limit=10)) == 10
    assert extract_headlines("") == []
