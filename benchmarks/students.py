"""Students against their teacher, split by split: where they decide differently, and who is right.

Usage (repository root, ../shared beside it):
    python benchmarks/students.py --model default --student runs/student4 runs/student4-es

The distillation target is a macro-F1 gap, and on the recipe's small splits (Spanish validation;
sizes in docs/results/2026-11-29-distillation.md) a gap is a handful of decisions. So per held-out
split and student (both in fp32, each at its own temperature and threshold): the macro-F1 gap to the
teacher, a 90 % bootstrap interval of that gap (resampling the split's rows), how many rows the two
decide differently, and on how many of those the teacher or the student is right. Then, for one
language (``--language``, Spanish by default), teacher and students on the training headlines they
all learned from and on the unseen validation split: ROC AUC against the labels and how often each
student decides as the teacher does — whether a gap there is one of fit or of generalisation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from training.calibration import macro_f1_by_threshold
from training.config import TrainConfig
from training.evaluate import held_out_sets

RESAMPLES = 1000


def gap(
    truth: np.ndarray,
    ours: np.ndarray,
    theirs: np.ndarray,
    thresholds: tuple[float, float],
    picked: np.ndarray,
) -> float:
    """Student's macro-F1 minus the teacher's on the ``picked`` rows, each at its own threshold."""
    return float(
        macro_f1_by_threshold(ours[picked], truth[picked], np.array([thresholds[0]]))[0]
        - macro_f1_by_threshold(theirs[picked], truth[picked], np.array([thresholds[1]]))[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--model", default="default", help="the teacher")
    parser.add_argument("--student", nargs="+", required=True, help="distilled student artifacts")
    parser.add_argument(
        "--language",
        default="es",
        help="also compare on this language's training headlines (seen) and validation split (unseen)",
    )
    args = parser.parse_args()

    train_rows, sets = held_out_sets(TrainConfig.from_sources(args.config, {}))
    fp32 = ClassifierSettings(engine="fp32")
    teacher = Scorer.load(args.model, fp32)
    rng = np.random.default_rng(0)
    print(
        "| student | split | n | macro-F1 gap | 90 % interval "
        "| decided differently | teacher right | student right |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    students = {path: Scorer.load(path, fp32) for path in args.student}
    for path, student in students.items():
        for name, rows in sets.items():
            texts, truth = [e.text for e in rows], np.array([e.label for e in rows])
            ours, theirs = student.probabilities(texts), teacher.probabilities(texts)

            thresholds = (student.threshold, teacher.threshold)
            resampled = [
                gap(truth, ours, theirs, thresholds, rng.integers(0, len(rows), len(rows)))
                for _ in range(RESAMPLES)
            ]
            low, high = np.percentile(resampled, [5, 95])
            said, taught = ours >= student.threshold, theirs >= teacher.threshold
            differ = said != taught
            whole = gap(truth, ours, theirs, thresholds, np.arange(len(rows)))
            print(
                f"| {path} | {name} | {len(rows)} | {100 * whole:+.1f} "
                f"| {100 * low:+.1f} … {100 * high:+.1f} | {differ.sum()} "
                f"| {(differ & (taught == truth)).sum()} | {(differ & (said == truth)).sum()} |"
            )

    seen_or_not = {
        "training (seen)": [e for e in train_rows if e.lang == args.language],
        "validation (unseen)": sets[f"validation/{args.language}"],
    }
    print(f"\n| model | {args.language} headlines | n | ROC AUC | same decision as the teacher |")
    print("| --- | --- | --- | --- | --- |")
    for name, rows in seen_or_not.items():
        texts, truth = [e.text for e in rows], np.array([e.label for e in rows])
        taught = teacher.probabilities(texts)
        print(f"| {args.model} (teacher) | {name} | {len(rows)} | {roc_auc_score(truth, taught):.3f} | |")
        for path, student in students.items():
            ours = student.probabilities(texts)
            same = (ours >= student.threshold) == (taught >= teacher.threshold)
            print(f"| {path} | {name} | {len(rows)} | {roc_auc_score(truth, ours):.3f} | {same.mean():.1%} |")


if __name__ == "__main__":
    main()
