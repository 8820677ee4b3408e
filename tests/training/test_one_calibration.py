"""One orchestration of calibration (``training.calibration.fit_calibration``): what it fits, what
it keeps."""

from __future__ import annotations

import numpy as np

from classifier.scorer import calibrated
from training.calibration import choose_threshold, fit_calibration, fit_languages, fit_temperature


def _rows(n: int = 800) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-logits / 2))).astype(int)
    return logits, labels, ["en" if i % 4 else "ro" for i in range(n)]


def test_fits_temperature_then_threshold_then_each_language_in_that_order() -> None:
    logits, labels, langs = _rows()
    fitted = fit_calibration(logits, labels, langs)
    temperature = fit_temperature(logits, labels)
    threshold = choose_threshold(calibrated(logits, temperature), labels)
    assert (fitted.temperature, fitted.threshold) == (temperature, threshold)
    assert fitted.languages == fit_languages(logits, labels, langs, temperature, threshold)
    assert set(fitted.languages) == {"en", "ro"}


def test_keeps_what_it_is_given_and_fits_no_language_without_languages() -> None:
    logits, labels, langs = _rows()
    kept = fit_calibration(logits, labels, langs, temperature=1.7, threshold=0.42)
    assert (kept.temperature, kept.threshold) == (1.7, 0.42)
    assert kept.languages == fit_languages(logits, labels, langs, 1.7, 0.42)
    assert fit_calibration(logits, labels, None).languages == {}
    assert set(fit_calibration(logits, labels, langs, min_rows=300).languages) == {"en"}
