"""The threshold a decision is made at (``classifier.threshold.decision_threshold``)."""

from __future__ import annotations

from classifier.threshold import decision_threshold


def test_the_callers_threshold_wins_zero_included() -> None:
    assert decision_threshold(0.6, None) == 0.6
    assert decision_threshold(0.6, 0.3) == 0.3
    assert decision_threshold(0.6, 0.0) == 0.0  # everything is clickbait, as asked
