"""Scoring order, batching and the committed default model."""

from __future__ import annotations

import threading

import numpy as np
import torch

from classifier.artifact import BaseRef, Manifest
from classifier.base import load_encoder, load_tokenizer, resolve_base
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer, default_model_dir
from classifier.settings import ClassifierSettings
from classifier.text import normalise_headline
from tests.conftest import CLICKBAIT, NEWS


def _tiny_scorer(tiny_base, settings: ClassifierSettings | None = None) -> Scorer:
    base = resolve_base(str(tiny_base))
    manifest = Manifest(version="t", base=BaseRef(name=base.name, sha256=base.sha256), method="full")
    return Scorer(HeadlineClassifier(load_encoder(base.path)), load_tokenizer(base.path), manifest, settings)


def test_results_keep_input_order_whatever_the_batching(tiny_base) -> None:
    scorer = _tiny_scorer(tiny_base)
    texts = ["short", "a much longer headline about the budget debate in parliament today", "mid size one"] * 3
    one_by_one = np.concatenate([scorer.logits([t]) for t in texts])
    np.testing.assert_allclose(scorer.logits(texts, batch_size=2), one_by_one, atol=1e-5)
    np.testing.assert_allclose(scorer.logits(texts, batch_size=64), one_by_one, atol=1e-5)
    assert scorer.logits([]).shape == (0,)


class ThreadsSeen(torch.nn.Module):
    """Wraps a network; notes, per call, the thread it ran in and torch's intra-op threads there
    after computing (a first parallel operation in a fresh thread would reset a limit set too early).
    The first call in each thread waits for ``side_by_side`` threads to be computing at once."""

    def __init__(self, network: HeadlineClassifier, side_by_side: int) -> None:
        super().__init__()
        self.network, self.seen = network, []
        self.meet = threading.Barrier(side_by_side, timeout=30)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if threading.current_thread().name not in {name for name, _, _ in self.seen}:
            self.meet.wait()  # BrokenBarrierError if the lanes ran one after the other
        logits = self.network(input_ids, attention_mask)
        self.seen.append((threading.current_thread().name, torch.get_num_threads(), len(input_ids)))
        return logits


def test_lanes_score_batches_side_by_side_on_one_core_each(tiny_base) -> None:
    texts = [f"headline number {n} " + "word " * (n % 7) for n in range(40)]
    single = _tiny_scorer(tiny_base, ClassifierSettings(parallel_batches=1))
    one_at_a_time = single.logits(texts, batch_size=8)
    scorer = Scorer(ThreadsSeen(single.network, side_by_side=2), single.tokenizer, single.manifest,
                    ClassifierSettings(parallel_batches=2, threads=2))
    np.testing.assert_allclose(scorer.logits(texts, batch_size=8), one_at_a_time, atol=1e-5)
    lanes = {name for name, _, _ in scorer.network.seen}
    assert len(lanes) == 2 and all(name.startswith("lane") for name in lanes)
    assert {threads for _, threads, _ in scorer.network.seen} == {1}
    assert sorted(rows for _, _, rows in scorer.network.seen) == [4, 4, 8, 8, 8, 8]  # 20 rows a lane
    # the lanes' limit is theirs alone: the caller and threads started later keep both cores
    fresh = []
    thread = threading.Thread(target=lambda: fresh.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert torch.get_num_threads() == 2 and fresh == [2]
    scorer.network.seen.clear()
    scorer.network.meet = threading.Barrier(1)
    scorer.logits(texts[:1])  # one headline: the calling thread, on every core
    assert scorer.network.seen == [(threading.current_thread().name, 2, 1)]


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
    teaser, report = scorer.score([
        "Orașul-minune al României! Nu se mai oprește din dezvoltare și a atras miliarde de euro",
        "Coreea de Nord își apără cooperarea militară cu Rusia",
    ])
    assert teaser.score > 2 * report.score and report.label == "news"
