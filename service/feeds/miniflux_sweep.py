"""``clickbait miniflux sweep``: the clickbait among a user's unread Miniflux entries, marked read or
named by title. The webhook judges entries as they arrive; the sweep applies the same judgement to
what is already stored (a new model, new site rules, entries older than the webhook).

A dry run (the default) lists what it would do and changes nothing; ``apply`` acts page by page, so
an interrupted sweep keeps what it did and a second run picks up the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from classifier.scorer import Scorer
from service.feeds.formats import decide, needs_score
from service.feeds.miniflux import PREFIXED, Action, Flagged, Miniflux, entry_items, flagged
from service.feeds.site_rules import SiteRules


@dataclass
class SweepReport:
    scanned: int = 0
    already_named: int = 0  # titles a prefix sweep (or the webhook) named before: not judged again
    clickbait: list[Flagged] = field(default_factory=list)


def judge(
    entries: Sequence[dict], scorer: Scorer, rules: SiteRules, threshold: float | None
) -> list[Flagged]:
    """The clickbait among ``entries``, by site rule or by the model's score, as the webhook decides."""
    items = entry_items(entries)
    matched, todo = needs_score(items, rules)
    probs = scorer.probabilities([items[i].title for i in todo])
    cut = scorer.threshold if threshold is None else threshold
    return flagged(entries, decide(matched, dict(zip(todo, probs, strict=True)), cut, scorer.manifest.labels))


async def sweep(
    miniflux: Miniflux,
    scorer: Scorer,
    rules: SiteRules,
    action: Action,
    apply: bool,
    feeds: Sequence[int] = (),
    categories: Sequence[int] = (),
    threshold: float | None = None,
    progress: bool = True,
) -> SweepReport:
    """Judge the unread entries of ``feeds`` and ``categories`` (all unread entries when neither is
    given); with ``apply``, ``action`` each page's clickbait before reading the next page."""
    selections = [(f, None) for f in feeds] + [(None, c) for c in categories] or [(None, None)]
    report, seen = SweepReport(), set()
    with tqdm(desc="sweep", unit=" entries", total=0, disable=not progress, dynamic_ncols=True) as bar:
        for feed_id, category_id in selections:
            counted = False
            async for page, unread in miniflux.unread(feed_id, category_id):
                if not counted:  # this selection's unread count when its first page was read
                    bar.total, counted = bar.total + unread, True
                    bar.refresh()
                fresh = [e for e in page if e["id"] not in seen]
                seen.update(e["id"] for e in fresh)
                todo = [e for e in fresh if not PREFIXED.match(str(e.get("title") or ""))]
                found = judge(todo, scorer, rules, threshold)
                if apply:
                    await miniflux.act(action, found)
                report.scanned += len(fresh)
                report.already_named += len(fresh) - len(todo)
                report.clickbait += found
                bar.update(len(page))
    return report
