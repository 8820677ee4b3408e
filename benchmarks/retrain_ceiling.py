"""How much an editor's labels can teach the default model at most, on the scenarios of
``benchmarks/retrain.py``: no training, three probes on the same labelled and measured headlines.

Usage (from the repository root, ../shared beside it):
    python benchmarks/retrain_ceiling.py --scenario es-ta1c id-holdout ro-holdout

For each scenario, macro-F1 on the editor's *other* headlines (never labelled) of:
- the current model at its own threshold (what `benchmarks/retrain.py` reports as "before");
- the current model at the best threshold for those very headlines (an oracle: the most that
  moving the threshold alone could give);
- a logistic regression on the current model's pooled embedding and its logit, fitted on every
  labelled headline (its strength chosen by 5-fold cross-validation on the labels), at the current
  threshold and at the oracle threshold: what a new head on the same features could learn from the
  labels. A retrain also moves the encoder, but on a few hundred labels of sites the model already
  knows the head's probe is a fair guide to what the labels add.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from retrain import SCENARIO_SALT, scenario_rows
from sklearn.linear_model import LogisticRegressionCV

from classifier.scorer import Scorer
from training.calibration import macro_f1_by_threshold
from training.config import TrainConfig
from training.data import load_dataset, split_holdout

GRID = np.linspace(0.05, 0.95, 91)


def macro_f1(probs: np.ndarray, truth: np.ndarray, threshold: float) -> float:
    return round(float(macro_f1_by_threshold(probs, truth, np.array([threshold]))[0]), 4)


def best_macro_f1(probs: np.ndarray, truth: np.ndarray) -> float:
    return round(float(macro_f1_by_threshold(probs, truth, GRID).max()), 4)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", nargs="+", default=["es-ta1c", "id-holdout", "ro-holdout"])
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--labelled", type=float, default=0.4)
    args = parser.parse_args()

    recipe = TrainConfig.from_sources(args.config, {})
    _, held = split_holdout(load_dataset(recipe.data).examples, recipe.holdout_fraction, recipe.holdout_by)
    current = Scorer.load("default")
    current = Scorer.load("default", current.settings, engine="fp32")
    temperature, threshold = current.manifest.temperature, current.threshold
    report = {}
    for name in args.scenario:
        rest, editor = split_holdout(
            scenario_rows(name, recipe, held), args.labelled, "text", salt=SCENARIO_SALT
        )
        features = {}
        for part, rows in (("editor", editor), ("rest", rest)):
            texts = [e.text for e in rows]
            features[part] = np.c_[current.embeddings(texts), current.logits(texts) / temperature]
        labels = np.array([e.label for e in editor])
        truth = np.array([e.label for e in rest])
        probe = LogisticRegressionCV(Cs=np.logspace(-3, 1, 9), cv=5, scoring="neg_log_loss", max_iter=5000)
        probe.fit(features["editor"], labels)
        now = 1 / (1 + np.exp(-features["rest"][:, -1]))
        taught = probe.predict_proba(features["rest"])[:, 1]
        report[name] = {
            "labels": len(editor),
            "measured": len(rest),
            "current": macro_f1(now, truth, threshold),
            "current_oracle_threshold": best_macro_f1(now, truth),
            "probe": macro_f1(taught, truth, threshold),
            "probe_oracle_threshold": best_macro_f1(taught, truth),
            "probe_C": float(probe.C_[0]),
        }
        print(name, report[name], flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
