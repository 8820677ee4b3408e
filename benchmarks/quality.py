"""Quality benchmark: a model against the TF-IDF baseline on the same held-out splits.

Usage (from the repository root, ../shared beside it):
    python benchmarks/quality.py --config training/configs/default.toml --model default

Both are judged on the recipe's deterministic validation split (per language) and on its
``eval_data`` files. The baseline is trained on the same training split and, like the model,
gets its threshold chosen for macro-F1 on the validation split.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from classifier.scorer import Scorer
from training.baseline import tfidf_baseline
from training.calibration import choose_threshold
from training.config import TrainConfig
from training.evaluate import held_out_sets
from training.metrics import classification_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    config = TrainConfig.from_sources(args.config, {})
    train_rows, sets = held_out_sets(config)
    started = time.perf_counter()
    baseline = tfidf_baseline(config.seed).fit([e.text for e in train_rows], [e.label for e in train_rows])
    baseline_seconds = time.perf_counter() - started
    val_rows = [e for name, rows in sets.items() if name.startswith("validation/") for e in rows]
    baseline_cut = choose_threshold(
        baseline.predict_proba([e.text for e in val_rows])[:, 1], np.array([e.label for e in val_rows])
    )
    scorer = Scorer.load(args.model)

    results = {}
    print(f"model {scorer.version}; TF-IDF fitted on {len(train_rows)} rows in {baseline_seconds:.0f} s")
    print("| set | n | TF-IDF macro-F1 | model macro-F1 | model ROC AUC | model ECE | TF-IDF ECE |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, rows in sets.items():
        labels = np.array([e.label for e in rows])
        texts = [e.text for e in rows]
        ours = classification_metrics(labels, scorer.probabilities(texts), scorer.threshold)
        theirs = classification_metrics(labels, baseline.predict_proba(texts)[:, 1], baseline_cut)
        results[name] = {"model": ours, "tfidf": theirs}
        auc = "—" if ours["roc_auc"] is None else f"{ours['roc_auc']:.3f}"
        print(
            f"| {name} | {len(rows)} | {theirs['macro_f1']:.3f} | {ours['macro_f1']:.3f} | {auc} "
            f"| {ours['ece']:.3f} | {theirs['ece']:.3f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"model": scorer.version, "sets": results}, indent=2))


if __name__ == "__main__":
    main()
