"""Evaluation of a model on labelled files: the JSON report (docs/training.md, Evaluation) and a
readable table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.scorer import Scorer
from training.calibration import row_languages
from training.config import TrainConfig
from training.data import Example, dataset_name, load_dataset, read_file, split_holdout
from training.metrics import classification_metrics

METRIC_COLUMNS = ("n", "accuracy", "macro_f1", "clickbait_f1", "roc_auc", "ece")


def metrics_with_languages(
    labels: np.ndarray, probs: np.ndarray, langs: Sequence[str], threshold: float
) -> dict[str, Any]:
    """Metrics of the whole set plus the same metrics per language (when there are several)."""
    report = classification_metrics(labels, probs, threshold)
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(langs):
        by_lang[lang].append(i)
    report["languages"] = {
        lang: classification_metrics(labels[idx], probs[idx], threshold)
        for lang, idx in sorted(by_lang.items())
    }
    return report


def held_out_sets(config: TrainConfig) -> tuple[list[Example], dict[str, list[Example]]]:
    """(training rows, ``named_sets`` of its validation hold-out and ``eval_data`` files) of a recipe."""
    data = load_dataset(config.data)
    train_rows, val_rows = split_holdout(data.examples, config.holdout_fraction, config.holdout_by)
    return train_rows, named_sets(val_rows, config.eval_data)


def named_sets(held_out: Sequence[Example], eval_data: Sequence[Path | str]) -> dict[str, list[Example]]:
    """{set name: rows}: the held-out rows per language (``validation/ro`` …, each row in the
    language it is calibrated and scored in: ``row_languages``) and each ``eval_data`` file."""
    sets: dict[str, list[Example]] = defaultdict(list)
    for row, lang in zip(held_out, row_languages(held_out), strict=True):
        sets[f"validation/{lang}"].append(row)
    for path in eval_data:
        sets[dataset_name(Path(path))] = read_file(Path(path))
    return dict(sorted(sets.items()))


def evaluate_files(scorer: Scorer, paths: Sequence[Path]) -> dict[str, Any]:
    """``{"model", "files": {name: metrics}, "overall": metrics}``; files are read fully first."""
    per_file = {dataset_name(Path(p)): read_file(Path(p)) for p in paths}
    all_rows = [row for rows in per_file.values() for row in rows]
    labels = np.array([e.label for e in all_rows])
    langs = row_languages(all_rows)  # scored and reported in the same language
    probs = scorer.probabilities([e.text for e in all_rows], langs=langs)
    files, start = {}, 0
    for name, rows in per_file.items():
        part = slice(start, start + len(rows))
        files[name] = metrics_with_languages(labels[part], probs[part], langs[part], scorer.threshold)
        start += len(rows)
    return {
        "model": scorer.version,
        "files": files,
        "overall": metrics_with_languages(labels, probs, langs, scorer.threshold),
    }


def model_metrics(
    scorer: Scorer, held_out: Sequence[Example], langs: Sequence[str], eval_data: Sequence[Path]
) -> dict[str, Any]:
    """A manifest's ``metrics``: the validation rows scored as served and reported in ``langs``, their
    languages (``row_languages``), then every evaluation file."""
    probs = scorer.probabilities([e.text for e in held_out], langs=langs)
    return {
        "validation": metrics_with_languages(
            np.array([e.label for e in held_out]), probs, langs, scorer.threshold
        ),
        "eval_files": evaluate_files(scorer, eval_data)["files"] if eval_data else {},
    }


def format_table(report: dict[str, Any]) -> str:
    """One line per file and per language within it, then the overall line."""
    header = f"{'set':<32}" + "".join(f"{c:>14}" for c in METRIC_COLUMNS)
    lines = [f"model {report['model']}", header, "-" * len(header)]

    def row(name: str, metrics: dict[str, Any]) -> str:
        cells = []
        for column in METRIC_COLUMNS:
            value = metrics[column]
            cells.append(
                f"{'—' if value is None else value:>14}"
                if not isinstance(value, float)
                else f"{value:>14.4f}"
            )
        return f"{name:<32}" + "".join(cells)

    for name, metrics in [*report["files"].items(), ("overall", report["overall"])]:
        lines.append(row(name, metrics))
        if len(metrics["languages"]) > 1:
            lines.extend(row(f"  {lang}", m) for lang, m in metrics["languages"].items())
        (tn, fp), (fn, tp) = metrics["confusion"]
        lines.append(
            f"{'':<4}confusion: news→news {tn}, news→clickbait {fp}, "
            f"clickbait→news {fn}, clickbait→clickbait {tp}"
        )
    return "\n".join(lines)
