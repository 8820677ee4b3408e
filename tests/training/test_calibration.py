"""Temperature scaling and threshold choice on made-up score sets."""

from __future__ import annotations

import numpy as np

from training.calibration import choose_threshold, fit_temperature, macro_f1_by_threshold
from training.metrics import expected_calibration_error


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def test_temperature_undoes_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, 4000)
    labels = (rng.random(4000) < _sigmoid(true_logits)).astype(int)
    overconfident = true_logits * 4  # a model 4× too sure of itself
    temperature = fit_temperature(overconfident, labels)
    assert 3.0 < temperature < 5.0
    before = expected_calibration_error(_sigmoid(overconfident), labels)
    after = expected_calibration_error(_sigmoid(overconfident / temperature), labels)
    assert after < before / 2 and after < 0.03


def test_threshold_maximises_macro_f1() -> None:
    labels = np.array([0] * 80 + [1] * 20)
    probs = np.concatenate([np.linspace(0.0, 0.6, 80), np.linspace(0.7, 1.0, 20)])
    threshold = choose_threshold(probs, labels)
    assert 0.6 < threshold <= 0.7
    grid = np.array([0.5, threshold])
    scores = macro_f1_by_threshold(probs, labels, grid)
    assert scores[1] == 1.0 and scores[0] < 1.0
