"""Scoring order, batching and the committed default model."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from classifier.artifact import (
    FALLBACK_DIR,
    HEAD_FILE,
    ArtifactError,
    BaseRef,
    Manifest,
    Routing,
    read_manifest,
    write_manifest,
)
from classifier.base import load_encoder, load_tokenizer, resolve_base
from classifier.export import merged_model
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer, default_model_dir
from classifier.settings import get_settings
from classifier.text import QUERY_PREFIX, normalise_headline
from classifier.torch_backend import TorchBackend
from tests.support.data import CLICKBAIT, NEWS, labelled_rows, write_jsonl
from training.config import TrainConfig
from training.distill import distill


def _tiny_scorer(tiny_base) -> Scorer:
    base = resolve_base(str(tiny_base))
    manifest = Manifest(version="t", base=BaseRef(name=base.name, sha256=base.sha256), method="full")
    return Scorer(
        TorchBackend(HeadlineClassifier(load_encoder(base.path))), load_tokenizer(base.path), manifest
    )


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


def test_a_routed_model_hands_other_languages_to_its_fallback(tmp_path, default_fp32: Scorer) -> None:
    """The shape a retrain leaves (``training.retrain.route``): its own network for the editor's
    languages, the model it came from for every other, with that model's decisions exactly."""
    fp32 = get_settings().model_copy(update={"engine": "fp32"})
    routed, fallback = tmp_path / "routed", tmp_path / "routed" / FALLBACK_DIR
    shutil.copytree(default_model_dir(), routed)
    shutil.copytree(default_model_dir(), fallback)
    head = load_file(str(fallback / HEAD_FILE))
    save_file({**head, "bias": head["bias"] + 1.5}, str(fallback / HEAD_FILE))  # another model
    before = read_manifest(fallback)
    write_manifest(fallback, before.model_copy(update={"threshold": 0.6, "languages": {}}))
    mine = read_manifest(routed)
    write_manifest(
        routed,
        mine.model_copy(update={"routing": Routing(languages=["en"], fallback_version=before.version)}),
    )
    scorer = Scorer.load(routed, fp32)
    own, other = default_fp32, Scorer.load(fallback, fp32)
    texts = NEWS[:2] + CLICKBAIT[:2] + NEWS[:2]
    langs = ["en"] * 4 + ["ro", "tr"]
    probs = scorer.probabilities(texts, langs=langs)
    np.testing.assert_allclose(probs[:4], own.probabilities(texts[:4], langs=langs[:4]), atol=1e-6)
    theirs = other.probabilities(texts[4:], langs=langs[4:])
    assert list(probs[4:] >= scorer.threshold) == list(theirs >= other.threshold)
    gap = np.log(mine.threshold / (1 - mine.threshold)) - np.log(0.6 / 0.4)  # the two thresholds' logits
    moved = np.log(theirs / (1 - theirs)) + gap
    np.testing.assert_allclose(probs[4:], 1 / (1 + np.exp(-moved)), atol=1e-5)
    assert scorer.threshold == mine.threshold != other.threshold
    assert [p.validated for p in scorer.score(texts, langs=langs)] == [True] * 4 + [False] * 2
    table = "embeddings.word_embeddings"  # the base's table is kept once
    assert scorer.network.encoder.get_submodule(table) is scorer.fallback.network.encoder.get_submodule(table)
    assert Scorer.load(routed, fp32, trainable=True).fallback is None
    # one graph, or one student, cannot hold two networks chosen by language: both say so
    with pytest.raises(ArtifactError, match="routed"):
        merged_model(scorer)
    with pytest.raises(ArtifactError, match="routed"):
        data = write_jsonl(tmp_path / "rows.jsonl", labelled_rows())
        distill(TrainConfig(data=[data], out=tmp_path / "student"), routed, layers=2)
