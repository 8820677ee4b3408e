"""The threshold a decision is made at, for every caller that may ask for its own."""

from __future__ import annotations


def decision_threshold(own: float, asked: float | None) -> float:
    """The caller's threshold where one is asked for (0 included), else the model's ``own``."""
    return own if asked is None else asked
