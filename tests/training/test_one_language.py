"""One rule for a headline's language (``classifier.language.headline_languages``), read the same
way by calibration, evaluation, retraining and scoring."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

import classifier.language
from classifier.language import UNDETERMINED, headline_languages
from classifier.scorer import Scorer
from classifier.settings import get_settings
from tests.support.data import write_jsonl
from tests.support.models import TRIGGER, build_known_model
from training.calibration import calibrate_languages, fit_languages, row_languages
from training.config import RetrainSettings, TrainConfig
from training.data import Example, read_file
from training.evaluate import named_sets
from training.retrain import POOL, self_replay


@pytest.fixture()
def all_in_turkish(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """CLICKBAIT_LANGUAGE=tr, read afresh by the settings."""
    monkeypatch.setenv("CLICKBAIT_LANGUAGE", "tr")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("CLICKBAIT_LANGUAGE")
    get_settings.cache_clear()


def test_given_wins_then_the_default_then_detection_once_per_text(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def detect(texts: Sequence[str]) -> list[str]:
        seen.append(list(texts))
        return ["en"] * len(texts)

    monkeypatch.setattr(classifier.language, "detect_languages", detect)
    headlines = ["a", "b", "a", "c"]
    assert headline_languages(headlines, ["RO", None, None, "ms"]) == ["ro", "en", "en", "id"]
    assert sum(seen, []) == ["b", "a"]  # each distinct text once
    assert headline_languages(headlines, None, "TR") == ["tr"] * 4
    assert sum(seen, []) == ["b", "a"]  # a default: nothing more detected
    with pytest.raises(ValueError):
        headline_languages(headlines, ["en"])


def test_a_declared_ro_fits_the_correction_that_scoring_looks_up(tmp_path: Path) -> None:
    rows = read_file(
        write_jsonl(
            tmp_path / "ro.jsonl",
            [{"text": f"Guvernul a aprobat bugetul ({i})", "label": i % 2, "lang": "RO"} for i in range(160)],
        )
    )
    rng = np.random.default_rng(0)
    fitted = fit_languages(
        rng.normal(size=160), np.array([e.label for e in rows]), row_languages(rows), 1.0, 0.5
    )
    # the key of the fitted correction is the language scoring finds for a caller's "RO"
    assert list(fitted) == headline_languages(["Guvernul a aprobat bugetul"], ["RO"]) == ["ro"]
    assert set(named_sets(rows, [])) == {"validation/ro"}


def test_the_settings_language_is_honoured_where_a_row_declares_none(all_in_turkish: None) -> None:
    rows = [
        Example("The mayor opens the new bridge over the river", 0, UNDETERMINED, None, "labels"),
        Example("Primarul a inaugurat podul nou peste râu", 1, "ro", None, "labels"),
    ]
    assert row_languages(rows) == ["tr", "ro"]
    assert set(named_sets(rows, [])) == {"validation/tr", "validation/ro"}


def test_retrain_groups_pooled_headlines_in_the_settings_language(all_in_turkish: None) -> None:
    pooled = [
        e for e in self_replay(["The mayor opens the new bridge"], [], RetrainSettings()) if e.file == POOL
    ]
    assert [e.lang for e in pooled] == ["tr"]


def test_a_files_ro_fits_the_correction_that_scores_romanian(bundled_base, tmp_path: Path) -> None:
    """A file that writes "RO" gets a correction that scoring applies, to a caller's "ro" and to a
    headline detected Romanian alike (the correction was once stored as "RO" and never looked up)."""
    model = build_known_model(bundled_base.path, tmp_path / "known")
    rows = [
        {
            "text": f"Guvernul a aprobat bugetul numărul {i}" + (f" {TRIGGER}" if i % 4 == 0 else ""),
            "label": i % 2,
        }
        for i in range(400)
    ]
    data = write_jsonl(tmp_path / "ro.jsonl", [{**row, "lang": "RO"} for row in rows])
    manifest = calibrate_languages(model, TrainConfig(data=[data], holdout_fraction=0.5), min_rows=50)
    assert list(manifest.languages) == ["ro"]
    scorer = Scorer.load(model)
    headline = "Guvernul a aprobat bugetul de stat"
    given, detected = scorer.score([headline], langs=["RO"])[0], scorer.score([headline])[0]
    assert (given.lang, given.validated) == (detected.lang, detected.validated) == ("ro", True)
    unknown = scorer.score([headline], langs=["xx"])[0]  # no correction: the global calibration
    assert given.score == detected.score != unknown.score
