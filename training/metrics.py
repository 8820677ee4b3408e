"""Classification and calibration metrics (scikit-learn where it has them)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """ECE of P(clickbait) over equal-width bins: Σ n_b/n · |mean label_b − mean prob_b|."""
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    if probs.size == 0:
        return 0.0
    which = np.minimum((probs * bins).astype(int), bins - 1)
    gap = np.abs(np.bincount(which, labels, bins) - np.bincount(which, probs, bins))
    return float(gap.sum() / probs.size)


def classification_metrics(labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, Any]:
    """The metric set of ``clickbait evaluate --json`` (docs/training.md, Evaluation) plus a
    confusion matrix [[tn, fp], [fn, tp]] (1 = clickbait)."""
    labels = np.asarray(labels, dtype=int)
    probs = np.asarray(probs, dtype=np.float64)
    predicted = (probs >= threshold).astype(int)
    both_classes = len(np.unique(labels)) == 2
    return {
        "n": int(labels.size),
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro", labels=[0, 1], zero_division=0)),
        "clickbait_f1": float(f1_score(labels, predicted, pos_label=1, zero_division=0)),
        "roc_auc": float(roc_auc_score(labels, probs)) if both_classes else None,
        "ece": expected_calibration_error(probs, labels),
        "confusion": confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
    }
