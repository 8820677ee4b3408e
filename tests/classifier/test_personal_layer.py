"""The personal layer's arithmetic (classifier/personal.py), on vectors made here: a reader's rule
about a headline's form is learnt from a few labels, and the layer survives its stored record."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.personal import MARKS, PersonalLayer, mark_features

HIDDEN = 16


def vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, HIDDEN))


def fit(headlines: list[str], labels: list[int], marks: float, words: float = 0.0) -> PersonalLayer:
    """A layer over a shared model that is unsure of everything (P = 0.5 at threshold 0.5)."""
    return PersonalLayer.fit(
        "m1",
        vectors(len(headlines), 0),
        [0.5] * len(headlines),
        labels,
        headlines,
        0.5,
        penalty=0.3,
        bias_penalty=10.0,
        words=words,
        marks=marks,
    )


QUOTED_TEASERS = [
    'Minister: "We will not resign"',
    "«Nunca más», dice la actriz",
    "Coach says „we were robbed”",
]
PLAIN_NEWS = ["Parliament passes the budget", "Bank raises rates by a quarter point", "Storm closes schools"]


def test_each_mark_is_found_where_it_is_and_nowhere_else() -> None:
    found = mark_features(['He said: "no"?', "10 ways ... of 2024 (VIDEO)", "plain words"])
    named = [{name for name, on in zip(MARKS, row, strict=True) if on} for row in found]
    assert named[0] == {"quote", "colon", "question"}
    assert named[1] == {"leading digit", "digit", "ellipsis", "bracket", "capitals"}
    assert named[2] == set()
    assert mark_features([]).shape == (0, len(MARKS))


def test_a_rule_about_quotes_carries_to_a_quoted_headline_it_never_saw() -> None:
    layer = fit(QUOTED_TEASERS + PLAIN_NEWS, [1, 1, 1, 0, 0, 0], marks=3.0)
    unseen = ['Mayor: "The bridge stays shut"', "Mayor keeps the bridge shut"]
    shift = layer.shift(vectors(2, 7), unseen)
    assert shift[0] > 1.0 > shift[1]  # the quote, not the words (none shared) or the vector (random)
    assert layer.mark_weights["quote"] > 0


def test_without_marks_the_same_labels_teach_the_quote_far_less() -> None:
    unseen = ['Mayor: "The bridge stays shut"']
    with_marks = fit(QUOTED_TEASERS + PLAIN_NEWS, [1, 1, 1, 0, 0, 0], marks=3.0).shift(vectors(1, 7), unseen)
    without = fit(QUOTED_TEASERS + PLAIN_NEWS, [1, 1, 1, 0, 0, 0], marks=0.0).shift(vectors(1, 7), unseen)
    assert with_marks[0] - without[0] > 1.0
    assert set(fit(PLAIN_NEWS, [0, 1, 0], marks=0.0).mark_weights.values()) == {0.0}


def test_the_stored_record_gives_back_the_same_answers() -> None:
    layer = fit(QUOTED_TEASERS + PLAIN_NEWS, [1, 1, 1, 0, 0, 0], marks=3.0, words=4.0)
    again = PersonalLayer.from_record(layer.record())
    heads = ['Mayor: "The bridge stays shut"', "Storm closes roads", "¿Quién ganó?"]
    probs = np.array([0.2, 0.5, 0.9])
    assert again.apply(probs, vectors(3, 9), heads) == pytest.approx(
        layer.apply(probs, vectors(3, 9), heads), abs=1e-5
    )
    assert again.mark_weights == pytest.approx(layer.mark_weights)
