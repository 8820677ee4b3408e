"""Both labels with a score each, highest first: the answer shape of the Hugging Face and TEI routes.

The scores are those of the exported network (``clickbait export --format hf``), whose two logits are
±logit(p)/2 for the calibrated P(clickbait) p: softmax of them gives back (1 − p, p), so a client
sees the same numbers from this service, from TEI's ``raw_scores`` and from a transformers pipeline
on the export, whichever function it asks for.
"""

from __future__ import annotations

import math
from typing import Literal

from service.api.schemas import LabelScore

Function = Literal["softmax", "sigmoid", "none"]
EPS = 1e-12  # keeps the logit of a probability that rounded to 0 or 1 finite


def label_scores(
    labels: tuple[str, str], probability: float, function: Function = "softmax"
) -> list[LabelScore]:
    """(news, clickbait) labels scored by ``function`` of the exported logits, highest first."""
    news, clickbait = labels
    p = min(max(probability, EPS), 1 - EPS)
    half = math.log(p / (1 - p)) / 2
    if function == "softmax":
        pairs = [(clickbait, probability), (news, 1 - probability)]
    elif function == "sigmoid":
        pairs = [(clickbait, 1 / (1 + math.exp(-half))), (news, 1 / (1 + math.exp(half)))]
    else:
        pairs = [(clickbait, half), (news, -half)]
    return [LabelScore(label=label, score=s) for label, s in sorted(pairs, key=lambda x: -x[1])]
