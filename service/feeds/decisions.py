"""Feed decisions, made one way for every path that acts on feed items: the feed filter and proxy
(``/v1/filter``), ``clickbait filter-feed``, and Miniflux's webhook and ``clickbait miniflux
sweep``.

Site rules decide first (the configured ``feed_allow_sites``/``feed_block_sites`` plus any the
caller adds), then the rules file's keep/drop rules on titles, URL paths and authors
(``CLICKBAIT_RULES_FILE``, ``service/feeds/rules.py``); the model scores the rest, each title as the
service reads a headline (cut to ``max_chars``, normalised), at its own threshold unless told
another, and labels them with its own labels (``manifest.labels``). Then one policy says what
removing an item means, whether the item is dropped from a feed or a Miniflux entry is marked read:
clickbait scored in a language the model was not validated on is held (annotated or left unread,
never removed) while the model names its validated languages, unless ``feed_drop_unvalidated`` says
otherwise (docs/feeds.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from classifier.personal import PersonalLayer
from classifier.scorer import Scorer
from classifier.text import normalise_headline
from classifier.threshold import decision_threshold
from service.feeds.formats import REMOVING_RULES, Decision, FeedItem, Mode, decide, needs_score
from service.feeds.rules import NO_RULES, Rules, rules_of
from service.feeds.site_rules import SiteRules
from service.settings import ServiceSettings


@dataclass(frozen=True)
class Policy:
    """What decides besides the model: site rules, the threshold (None: the model's), whether
    clickbait in an unvalidated language may be removed, how much of a title is read, and the rules
    file's rules."""

    rules: SiteRules = field(default_factory=SiteRules)
    threshold: float | None = None
    drop_unvalidated: bool = False
    max_chars: int = ServiceSettings.model_fields["max_chars"].default
    item_rules: Rules = NO_RULES

    def fingerprint(self) -> str:
        """The policy as text, the same in every process (sets sorted): part of the proxy's ETag."""
        return json.dumps(
            [
                sorted(self.rules.allow),
                sorted(self.rules.block),
                self.threshold,
                self.drop_unvalidated,
                self.max_chars,
                self.item_rules.digest,
            ]
        )

    @classmethod
    def of(
        cls,
        settings: ServiceSettings,
        allow: Iterable[str] = (),
        block: Iterable[str] = (),
        threshold: float | None = None,
        drop_unvalidated: bool = False,
    ) -> Policy:
        """The settings' policy, with the caller's sites added and ``drop_unvalidated`` turned on
        when either the settings or the caller asks for it; the rules file as it is now."""
        configured = SiteRules.of(settings.feed_allow_sites, settings.feed_block_sites)
        return cls(
            configured.merged(SiteRules.of(allow, block)),
            threshold,
            drop_unvalidated or settings.feed_drop_unvalidated,
            settings.max_chars,
            rules_of(settings.rules_file),
        )


@dataclass(frozen=True)
class Verdicts:
    """A batch's decisions under one model and one policy."""

    decisions: list[Decision]
    clickbait: str  # the model's clickbait label
    hold_unvalidated: bool  # clickbait in an unvalidated language is kept, annotated, not removed

    def clickbait_items(self) -> list[bool]:
        return [d.label == self.clickbait for d in self.decisions]

    def removed(self, mode: Mode) -> list[bool]:
        """Per item, whether ``mode`` takes it away: dropped from a feed, marked read in Miniflux."""
        return [d.drops(mode, self.hold_unvalidated, self.clickbait) for d in self.decisions]

    def held(self) -> list[bool]:
        """Per item, whether it is clickbait that removing would take away but the policy keeps."""
        gone = self.removed("drop")
        return [bait and not g for bait, g in zip(self.clickbait_items(), gone, strict=True)]


@dataclass(frozen=True)
class Unscored:
    """A batch of items before the model: each one's rule, and the titles the model must score."""

    matched: list[str | None]
    todo: list[int]  # indices of the items the model scores
    titles: list[str]  # their titles as scored: cut to ``max_chars``, normalised

    @classmethod
    def of(cls, items: Sequence[FeedItem], policy: Policy) -> Unscored:
        matched, todo = needs_score(list(items), policy.rules, policy.item_rules)
        titles = [normalise_headline((items[i].title or "")[: policy.max_chars]) for i in todo]
        return cls(matched, todo, titles)

    def decided(
        self,
        scorer: Scorer,
        probs: Sequence[float],
        policy: Policy,
        langs: Sequence[str] | None = None,
        shared: Sequence[float] | None = None,
    ) -> Verdicts:
        """The decisions, given ``probs`` (P(clickbait) of ``titles`` from ``scorer``) and, when the
        caller already has them, the titles' languages. ``shared``: the shared model's P where
        ``probs`` are a reader's personal layer's; a decision whose label the layer changed says so
        (``decided_by`` ``personal``)."""
        langs = scorer.languages(self.titles) if langs is None else langs
        found = {i: (lang, scorer.validated(lang)) for i, lang in zip(self.todo, langs, strict=True)}
        scores = {i: float(p) for i, p in zip(self.todo, probs, strict=True)}
        threshold = decision_threshold(scorer.threshold, policy.threshold)
        labels = scorer.manifest.labels
        # a model that names no validated language has nothing to hold clickbait against
        hold = bool(scorer.manifest.languages) and not policy.drop_unvalidated
        decisions = decide(self.matched, scores, threshold, labels, found)
        if shared is not None:
            for i, p in zip(self.todo, shared, strict=True):
                if decisions[i].rule is None and (float(p) >= threshold) != (scores[i] >= threshold):
                    decisions[i].personal = True
        return Verdicts(decisions, labels[1], hold)


def decide_items(
    scorer: Scorer, items: Sequence[FeedItem], policy: Policy, layer: PersonalLayer | None = None
) -> Verdicts:
    """``items`` decided with ``scorer`` in this process (the command line; the sweep), and with a
    reader's personal ``layer`` over it when given."""
    unscored = Unscored.of(items, policy)
    langs = scorer.languages(unscored.titles)
    probs = scorer.probabilities(unscored.titles, langs=langs)
    if layer is None or not unscored.titles:
        return unscored.decided(scorer, probs, policy, langs)
    mine = layer.apply(probs, scorer.embeddings(unscored.titles), unscored.titles)
    return unscored.decided(scorer, mine, policy, langs, shared=probs)


def matched_rules(
    policy: Policy, titles: Sequence[str], links: Sequence[str | None], authors: Sequence[str | None]
) -> list[Decision]:
    """What the site lists and the rules file decide of bare headlines (``POST /v1/score`` with
    ``rules``: clients that send headlines, not feeds): per headline a decision without a score (its
    rule, or None where the model decides), labelled ``news``/``clickbait`` for the caller to map."""
    items = [FeedItem(t, link, None, a) for t, link, a in zip(titles, links, authors, strict=True)]
    matched, _ = needs_score(items, policy.rules, policy.item_rules)
    return [Decision("clickbait" if r and r.startswith(REMOVING_RULES) else "news", rule=r) for r in matched]
