"""Word occlusion: a word's contribution is how much the score drops when the word is removed.

Faithful by construction (it is the model's own answer to the counterfactual) and cheap: one
batch of n+1 short inputs for a headline of n words.
"""

from __future__ import annotations


def occlusion_variants(headline: str, read: int | None = None) -> tuple[list[str], list[str]]:
    """(words, [headline, headline without word 0, without word 1, …]) for the first ``read`` words
    only (default all): the model reads a capped number of tokens, so removing a word past them
    changes nothing it sees, and costs a model input for a contribution that is 0."""
    words = headline.split()
    read = len(words) if read is None else min(read, len(words))
    return words, [headline] + [" ".join(words[:i] + words[i + 1 :]) for i in range(read)]


def contributions(words: list[str], probabilities) -> list[dict]:
    """Pair each word with P(full) − P(without it); positive values push towards clickbait, and words
    past those scored (``occlusion_variants``' ``read``) contribute 0."""
    full = float(probabilities[0])
    changes = [full - float(p) for p in probabilities[1:]]
    changes += [0.0] * (len(words) - len(changes))
    return [{"word": w, "contribution": round(c, 6)} for w, c in zip(words, changes, strict=True)]


def words_read(fitted: str) -> int:
    """How many words of a headline the model reads, given the headline cut to its token cap."""
    return len(fitted.split())
