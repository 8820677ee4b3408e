"""Headline variants for distillation: more inputs on which a student learns its teacher's scores.

A student shown the few thousand headlines a language has copies the teacher's scores on those rows
but not its judgement around them: the Spanish rows are a small share of the default recipe's
training split, and every student lost far more macro-F1 on its Spanish validation rows than on any
other language's (``docs/results/2026-11-29-distillation.md``). Variants of those headlines (words
dropped, words swapped for words drawn from all the set's headlines — by frequency, own words
included — and a contiguous span kept), scored by the teacher, fill in that neighbourhood: the
augmentation of Tang et al. 2019, "Distilling task-specific knowledge from BERT into simple neural
networks", without its part-of-speech step. They need no labels: the teacher's scores are the
targets.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

DROP = 0.1  # chance that a word is left out
SWAP = 0.1  # chance that a word is replaced by one drawn from all the set's words (by frequency)
SPAN = 0.3  # chance that only a contiguous span of at least half the words is kept


def variants(texts: Sequence[str], per_text: int, seed: int) -> list[str]:
    """``per_text`` variants of every headline in ``texts`` (one language's), reproducible by ``seed``;
    a variant that loses every word is the headline itself."""
    rng = random.Random(seed)
    vocabulary = [word for text in texts for word in text.split()]
    return [_variant(text.split(), vocabulary, rng) or text for text in texts for _ in range(per_text)]


def _variant(words: list[str], vocabulary: list[str], rng: random.Random) -> str:
    if len(words) > 3 and rng.random() < SPAN:
        length = rng.randint((len(words) + 1) // 2, len(words) - 1)
        start = rng.randint(0, len(words) - length)
        words = words[start : start + length]
    kept = []
    for word in words:
        roll = rng.random()
        if roll >= DROP:
            kept.append(rng.choice(vocabulary) if roll < DROP + SWAP else word)
    return " ".join(kept)
