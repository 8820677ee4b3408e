"""Post-hoc calibration: one temperature fitted by likelihood, then a macro-F1 threshold; and a
correction per language on top of that temperature, hinged at the threshold so that it moves no
decision (``LanguageCalibration`` in the manifest)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from classifier.artifact import LanguageCalibration, Manifest
from classifier.language import UNDETERMINED, headline_languages
from classifier.scorer import Scorer, calibrated, logit
from classifier.settings import get_settings
from training.config import TrainConfig
from training.data import Example
from training.metrics import expected_calibration_error

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


# A language gets its own correction only with at least this many validation rows: below that a
# scale fitted by likelihood is unstable and the binned ECE that reports the fit is mostly noise
# (on the default recipe's smallest language, Spanish, its chance floor is already above the
# target: docs/results/2026-11-29-languages.md); Spanish still has enough rows.
MIN_LANGUAGE_ROWS = 150
# ... and a scale of its own on each side of the threshold only with at least this many: on a few
# hundred rows the shape follows the sources they came from (Spanish: two sides fitted on
# validation/es made es-ta1c-validation worse where one scale helps:
# docs/results/2026-11-30-calibration.md).
MIN_TWO_SIDED_ROWS = 500
ECE_BINS = 15


def fit_hinge(
    scaled: np.ndarray, labels: np.ndarray, pivot: float, two_sided: bool = True
) -> tuple[float, float]:
    """(below, above) minimising the NLL of sigmoid(pivot + k · (x − pivot)), x = logit / T
    already calibrated globally, k = below under the pivot and above from it; one k for both sides
    unless ``two_sided``. The pivot (the threshold's logit) is a fixed point: no decision moves."""
    x = torch.as_tensor(scaled, dtype=torch.float64) - pivot
    y = torch.as_tensor(labels, dtype=torch.float64)
    upper = x >= 0
    params = torch.ones(2, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([params], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        k = torch.where(upper, params[0], params[1]) if two_sided else params[0]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(pivot + k * x, y)
        loss.backward()
        return loss

    optimiser.step(closure)
    above, below = np.clip(params.detach().numpy(), 0.05, 20.0).tolist()
    return (float(below), float(above)) if two_sided else (float(above), float(above))


def row_languages(rows: Sequence[Example]) -> list[str]:
    """The language of each labelled row as scoring reads it (``headline_languages``): the one its
    file declares, else the settings' ``language``, else detected."""
    declared = [None if e.lang == UNDETERMINED else e.lang for e in rows]
    return headline_languages([e.text for e in rows], declared, get_settings().language)


def fit_languages(
    logits: np.ndarray,
    labels: np.ndarray,
    langs: Sequence[str],
    temperature: float,
    threshold: float,
    min_rows: int = MIN_LANGUAGE_ROWS,
    min_two_sided_rows: int = MIN_TWO_SIDED_ROWS,
) -> dict[str, LanguageCalibration]:
    """A correction per language with at least ``min_rows`` held-out rows, fitted by likelihood on
    top of the global ``temperature`` and hinged at ``threshold``: one scale, or one each side of
    the threshold where it has ``min_two_sided_rows``; ECE (15 bins) on those rows before and
    after."""
    logits, labels, langs = np.asarray(logits), np.asarray(labels), np.asarray(langs)
    pivot = float(logit(threshold))
    fitted = {}
    for lang, count in sorted(Counter(langs.tolist()).items()):
        if count < min_rows or lang == UNDETERMINED:
            continue
        scaled, truth = logits[langs == lang] / temperature, labels[langs == lang]
        below, above = fit_hinge(scaled, truth, pivot, two_sided=count >= min_two_sided_rows)
        after = calibrated(scaled, 1.0, below, above, pivot=pivot)
        fitted[lang] = LanguageCalibration(
            below=round(below, 6),
            above=round(above, 6),
            rows=int(count),
            ece_before=round(expected_calibration_error(calibrated(scaled, 1.0), truth, ECE_BINS), 4),
            ece_after=round(expected_calibration_error(after, truth, ECE_BINS), 4),
        )
    return fitted


@dataclass(frozen=True)
class Calibration:
    """What a manifest's calibration holds: the temperature, the threshold, a correction per language."""

    temperature: float
    threshold: float
    languages: dict[str, LanguageCalibration]


def fit_calibration(
    logits: np.ndarray,
    labels: np.ndarray,
    langs: Sequence[str] | None,
    temperature: float | None = None,
    threshold: float | None = None,
    min_rows: int = MIN_LANGUAGE_ROWS,
) -> Calibration:
    """The one way a model is calibrated on held-out rows, in this order: a temperature fitted by
    likelihood (unless ``temperature`` keeps one), the macro-F1 threshold on the calibrated scores
    (unless ``threshold`` keeps one), then, where ``langs`` gives each row's language
    (``row_languages``), a correction per language with ``min_rows`` rows, hinged at that
    threshold, so that the decisions stay; the threshold stays one for all languages (per-language
    ones gained nothing, ``docs/design/artifact.md``)."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    if temperature is None:
        temperature = fit_temperature(logits, labels)
    if threshold is None:
        threshold = choose_threshold(calibrated(logits, temperature), labels)
    languages = (
        {} if langs is None else fit_languages(logits, labels, langs, temperature, threshold, min_rows)
    )
    return Calibration(temperature, threshold, languages)


def calibrate_on(
    scorer: Scorer,
    rows: Sequence[Example],
    temperature: float | None = None,
    threshold: float | None = None,
    min_rows: int = MIN_LANGUAGE_ROWS,
) -> Calibration:
    """``fit_calibration`` on ``scorer``'s own logits of labelled ``rows``, each row in its
    language (``row_languages``)."""
    logits = scorer.logits([e.text for e in rows])
    labels = np.array([e.label for e in rows])
    return fit_calibration(logits, labels, row_languages(rows), temperature, threshold, min_rows)


def calibrate_languages(model_dir: Path, config: TrainConfig, min_rows: int | None = None) -> Manifest:
    """Fit the per-language corrections of an existing model on its recipe's validation split
    (fp32 logits over the model's own temperature, as ``clickbait train`` fits them) and write them
    into its manifest and model card; the weights, temperature, threshold and int8 section stay."""
    from classifier.artifact import read_manifest, write_manifest
    from training.card import LANGUAGE_LINE, language_line
    from training.data import load_dataset, split_holdout

    scorer = Scorer.load(model_dir, engine="fp32")
    _, rows = split_holdout(load_dataset(config.data).examples, config.holdout_fraction, config.holdout_by)
    kept = scorer.manifest
    fitted = calibrate_on(scorer, rows, kept.temperature, kept.threshold, min_rows or MIN_LANGUAGE_ROWS)
    manifest = read_manifest(model_dir).model_copy(update={"languages": fitted.languages})
    write_manifest(model_dir, manifest)
    card = model_dir / "README.md"
    if card.is_file():  # one line, replaced in place: the rest of a hand-edited card stays
        lines = [line for line in card.read_text().split("\n") if not line.startswith(LANGUAGE_LINE)]
        at = next((i + 1 for i, line in enumerate(lines) if line.startswith("Calibration temperature")), 1)
        card.write_text("\n".join([*lines[:at], language_line(manifest), *lines[at:]]))
    return manifest
