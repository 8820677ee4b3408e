"""Post-hoc calibration: one temperature fitted by likelihood, then a macro-F1 threshold."""

from __future__ import annotations

import numpy as np
import torch

THRESHOLD_GRID = np.round(np.arange(0.02, 0.981, 0.005), 3)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature T minimising the validation NLL of sigmoid(logit / T)."""
    x = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.float64)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x / log_t.exp(), y)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def macro_f1_by_threshold(probs: np.ndarray, labels: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Macro-F1 at every threshold of ``grid`` at once (vectorised confusion counts)."""
    return macro_f1_of(np.asarray(labels), np.asarray(probs)[None, :] >= grid[:, None])


def macro_f1_of(truth: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """Macro-F1 of 0/1 decisions along their last axis; leading axes (thresholds, resamples) and
    ``truth`` broadcast, so many decision sets are scored at once."""
    truth, decided = truth.astype(bool), decided.astype(bool)
    tp, tn = (truth & decided).sum(-1), (~truth & ~decided).sum(-1)
    fp, fn = (~truth & decided).sum(-1), (truth & ~decided).sum(-1)
    f1_pos = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(tp.shape), where=(2 * tp + fp + fn) > 0)
    f1_neg = np.divide(2 * tn, 2 * tn + fn + fp, out=np.zeros(tn.shape), where=(2 * tn + fn + fp) > 0)
    return (f1_pos + f1_neg) / 2


def choose_threshold(probs: np.ndarray, labels: np.ndarray) -> float:
    """The grid threshold with the highest macro-F1; ties go to the one nearest 0.5."""
    scores = macro_f1_by_threshold(probs, labels, THRESHOLD_GRID)
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(THRESHOLD_GRID[best[np.argmin(np.abs(THRESHOLD_GRID[best] - 0.5))]])
