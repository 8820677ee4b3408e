"""``clickbait miniflux sweep``: the clickbait among a user's unread Miniflux entries, marked read or
named by title. The webhook judges entries as they arrive; the sweep applies the same judgement to
what is already stored (a new model, new site rules, entries older than the webhook). It also reads
the labels the user gave in Miniflux (a star, a category: ``LabelSources``), which teach the user's
personal layer (docs/personal.md).

A dry run (the default) lists what it would do and changes nothing; ``apply`` acts page by page, so
an interrupted sweep keeps what it did and a second run picks up the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from classifier.personal import PersonalLayer
from classifier.scorer import Scorer
from service.feeds.decisions import Policy, decide_items
from service.feeds.miniflux import PREFIXED, Action, Flagged, Miniflux, entry_items, flagged
from service.store.label_store import NewLabel, source_of


@dataclass
class SweepReport:
    scanned: int = 0
    already_named: int = 0  # titles a prefix sweep (or the webhook) named before: not judged again
    clickbait: list[Flagged] = field(default_factory=list)
    held: list[Flagged] = field(default_factory=list)  # clickbait left unread: unvalidated language


@dataclass(frozen=True)
class LabelSources:
    """Where a Miniflux user says what is clickbait to them: a star on an entry (labelled
    ``starred``: clickbait or news) and the entries of one category (clickbait)."""

    starred: str | None = None
    category: int | None = None


async def read_labels(miniflux: Miniflux, sources: LabelSources, max_chars: int) -> list[NewLabel]:
    """The labels a user gave in Miniflux, each with where its entry came from (its link's host)."""
    chosen = ([({"starred": "true"}, sources.starred)] if sources.starred else []) + (
        [({"category_id": sources.category}, "clickbait")] if sources.category is not None else []
    )
    found = []
    for selection, label in chosen:
        async for page, _ in miniflux.entries(selection):
            for e in page:
                title = PREFIXED.sub("", str(e.get("title") or ""))[:max_chars].strip()
                if title:
                    found.append(NewLabel(title, label, None, source_of(e.get("url"))))
    return found


def judge(
    entries: Sequence[dict],
    scorer: Scorer,
    policy: Policy,
    action: Action,
    layer: PersonalLayer | None = None,
) -> tuple[list[Flagged], list[Flagged]]:
    """(the entries ``action`` applies to, the clickbait held back), decided as the webhook and the
    feed filter decide (``service/feeds/decisions.py``), with the user's personal ``layer`` if any."""
    return flagged(entries, decide_items(scorer, entry_items(entries), policy, layer), action)


async def sweep(
    miniflux: Miniflux,
    scorer: Scorer,
    policy: Policy,
    action: Action,
    apply: bool,
    feeds: Sequence[int] = (),
    categories: Sequence[int] = (),
    progress: bool = True,
    layer: PersonalLayer | None = None,
) -> SweepReport:
    """Judge the unread entries of ``feeds`` and ``categories`` (all unread entries when neither is
    given); with ``apply``, ``action`` each page's clickbait before reading the next page. ``layer``:
    the user's personal layer, learnt from their labels."""
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
                found, held = judge(todo, scorer, policy, action, layer)
                if apply:
                    await miniflux.act(action, found)
                report.scanned += len(fresh)
                report.already_named += len(fresh) - len(todo)
                report.clickbait += found
                report.held += held
                bar.update(len(page))
    return report
