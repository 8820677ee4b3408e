"""Word occlusion: a word's contribution is how much the score drops when the word is removed.

Faithful by construction (it is the model's own answer to the counterfactual) and cheap: one
batch of n+1 short inputs for a headline of n words.
"""

from __future__ import annotations


def occlusion_variants(headline: str) -> tuple[list[str], list[str]]:
    """(words, [headline, headline without word 0, without word 1, …])."""
    words = headline.split()
    return words, [headline] + [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]


def contributions(words: list[str], probabilities) -> list[dict]:
    """Pair each word with P(full) − P(without it); positive values push towards clickbait."""
    full = float(probabilities[0])
    return [
        {"word": word, "contribution": round(full - float(p), 6)}
        for word, p in zip(words, probabilities[1:], strict=True)
    ]
