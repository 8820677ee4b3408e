"""Metrics agree with scikit-learn; ECE with a hand computation."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from training.metrics import classification_metrics, expected_calibration_error


def test_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    probs = np.clip(labels * 0.4 + rng.random(500) * 0.6, 0, 1)
    m = classification_metrics(labels, probs, threshold=0.55)
    predicted = (probs >= 0.55).astype(int)
    assert m["n"] == 500
    assert np.isclose(m["accuracy"], accuracy_score(labels, predicted))
    assert np.isclose(m["macro_f1"], f1_score(labels, predicted, average="macro"))
    assert np.isclose(m["clickbait_f1"], f1_score(labels, predicted))
    assert np.isclose(m["roc_auc"], roc_auc_score(labels, probs))
    (tn, fp), (fn, tp) = m["confusion"]
    assert tp == int(((predicted == 1) & (labels == 1)).sum()) and tn + fp + fn + tp == 500


def test_ece_by_hand() -> None:
    probs = np.array([0.05, 0.05, 0.95, 0.95, 0.55, 0.55])
    labels = np.array([0, 0, 1, 0, 1, 1])
    # bins: [0.0,0.1): gap |0 - 0.05|·2; [0.9,1.0]: |1 - 1.9|; [0.5,0.6): |2 - 1.1|
    expected = (0.1 + 0.9 + 0.9) / 6
    assert np.isclose(expected_calibration_error(probs, labels), expected)
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1, 0])) == 0.0


def test_single_class_has_no_auc() -> None:
    assert classification_metrics(np.zeros(4), np.full(4, 0.2), 0.5)["roc_auc"] is None
