"""Headline variants for distillation: reproducible, drawn from the headlines' own words, never empty."""

from __future__ import annotations

from tests.support.data import CLICKBAIT, NEWS
from training.augment import variants


def test_variants_are_reproducible_and_made_of_the_set_s_words() -> None:
    texts = NEWS + CLICKBAIT
    made = variants(texts, 5, seed=3)
    assert len(made) == 5 * len(texts)
    assert made == variants(texts, 5, seed=3) and made != variants(texts, 5, seed=4)
    vocabulary = {word for text in texts for word in text.split()}
    assert all(made) and all(set(v.split()) <= vocabulary for v in made)
    new = [v for v in made if v not in texts]
    assert len(new) > 0.8 * len(made)  # most variants differ from every headline
    for text, five in zip(texts, (made[i : i + 5] for i in range(0, len(made), 5)), strict=True):
        words = set(text.split())  # each variant keeps most of its own headline's words
        assert all(len(set(v.split()) & words) >= len(words) // 4 for v in five)


def test_a_one_word_headline_that_loses_its_word_stays_itself() -> None:
    assert set(variants(["Breaking"], 200, seed=0)) == {"Breaking"}
