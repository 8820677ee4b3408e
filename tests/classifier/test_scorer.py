"""Scoring order, batching and the committed default model."""

from __future__ import annotations

import numpy as np

from classifier.artifact import BaseRef, Manifest
from classifier.base import load_encoder, load_tokenizer, resolve_base
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer, default_model_dir
from classifier.text import QUERY_PREFIX, normalise_headline
from tests.support.data import CLICKBAIT, NEWS


def _tiny_scorer(tiny_base) -> Scorer:
    base = resolve_base(str(tiny_base))
    manifest = Manifest(version="t", base=BaseRef(name=base.name, sha256=base.sha256), method="full")
    return Scorer(HeadlineClassifier(load_encoder(base.path)), load_tokenizer(base.path), manifest)


def test_results_keep_input_order_whatever_the_batching(tiny_base) -> None:
    scorer = _tiny_scorer(tiny_base)
    texts = [
        "short",
        "a much longer headline about the budget debate in parliament today",
        "mid size one",
    ] * 3
    one_by_one = np.concatenate([scorer.logits([t]) for t in texts])
    np.testing.assert_allclose(scorer.logits(texts, batch_size=2), one_by_one, atol=1e-5)
    np.testing.assert_allclose(scorer.logits(texts, batch_size=64), one_by_one, atol=1e-5)
    assert scorer.logits([]).shape == (0,)


def test_labels_follow_the_threshold(tiny_base) -> None:
    scorer = _tiny_scorer(tiny_base)
    probs = scorer.probabilities(NEWS)
    cut = float(np.median(probs))
    labels = [p.label for p in scorer.score(NEWS, threshold=cut)]
    assert labels == ["clickbait" if p >= cut else "news" for p in probs]


def test_whitespace_variants_score_alike(tiny_base) -> None:
    scorer = _tiny_scorer(tiny_base)
    a, b = scorer.logits(["Senate passes the bill", "  Senate\tpasses  the bill\n"])
    assert abs(a - b) < 1e-5 and normalise_headline(" a\u00a0 b ") == "a b"


def test_default_model_ranks_teasers_above_news() -> None:
    assert (default_model_dir() / "manifest.json").is_file()
    scorer = Scorer.load("default")
    news = scorer.probabilities(NEWS)
    bait = scorer.probabilities(CLICKBAIT)
    assert bait.mean() > 0.5 > news.mean()
    assert bait.min() > np.median(news)
    teaser, report = scorer.score(
        [
            "Orașul-minune al României! Nu se mai oprește din dezvoltare și a atras miliarde de euro",
            "Coreea de Nord își apără cooperarea militară cu Rusia",
        ]
    )
    assert teaser.score > 2 * report.score and report.label == "news"


def test_fit_cuts_whole_words_on_the_side_asked(tiny_base) -> None:
    """The most whole words that fit the token cap, from the end asked for; the words kept are
    tokenised as in the whole headline (so the ids are the ones token-level truncation keeps)."""
    scorer = _tiny_scorer(tiny_base)
    scorer.manifest = scorer.manifest.model_copy(update={"max_length": 16})
    short = "Senate passes the bill"
    long = "Guvernul a adoptat bugetul pe 2025 după o lungă dezbatere în parlament, antidisestablishmentarian"
    assert scorer.fit(short, "left") == short and scorer.fit(short, "right") == short
    words = long.split()
    fits = [k for k in range(1, len(words)) if scorer.token_count(" ".join(words[-k:])) <= 16]
    assert scorer.fit(long, "left") == " ".join(words[-max(fits) :])
    fits = [k for k in range(1, len(words)) if scorer.token_count(" ".join(words[:k])) <= 16]
    assert scorer.fit(long, "right") == " ".join(words[: max(fits)])
    full = scorer.tokenizer.encode([QUERY_PREFIX + long], 1 << 30)[0][1:-1]  # without <s> and </s>
    tail = scorer.tokenizer.encode([QUERY_PREFIX + scorer.fit(long, "left")], 1 << 30)[0][1:-1]
    assert tail[3:] == full[len(full) - len(tail) + 3 :]  # after the 3 pieces of "query: "
