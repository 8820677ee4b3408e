"""Why the int8 engine smooths every encoder Linear, and what keeping the FFN outputs in fp32 adds:
logit error against fp32 of each form.

Usage (repository root, ../shared beside it):
    python benchmarks/smoothing.py [--model default] [--config training/configs/default.toml] [--alpha 0.8]

Activation maxima come from the same 512 training headlines ``clickbait quantize`` uses; the error
is the RMSE between int8 and fp32 logits over every held-out row of the recipe.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np

from classifier.engine import ffn_output_names, has_vnni, smoothing_scales, to_int8
from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from training.config import TrainConfig
from training.evaluate import held_out_sets
from training.quantize import calibration_maxima


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--alpha", type=float, default=0.8)
    args = parser.parse_args()

    config = TrainConfig.from_sources(args.config, {})
    fp32 = Scorer.load(args.model, ClassifierSettings(engine="fp32"))
    train_rows, sets = held_out_sets(config)
    maxima = calibration_maxima(fp32, train_rows, config.seed)
    texts = [e.text for rows in sets.values() for e in rows]
    reference = fp32.logits(texts)

    ffn_outputs = ffn_output_names(fp32.network)
    print(f"{len(texts)} held-out headlines, alpha {args.alpha}")
    for label, names, keep in (
        ("the 12 FFN outputs", ffn_outputs, []),
        (f"all {len(maxima)} Linears", list(maxima), []),
        (f"all {len(maxima)} Linears, the FFN outputs kept in fp32", list(maxima), ffn_outputs),
    ):
        scales = smoothing_scales(fp32.network, {n: maxima[n] for n in names}, args.alpha)
        network = to_int8(copy.deepcopy(fp32.network), scales, has_vnni(), keep)
        logits = Scorer(network, fp32.tokenizer, fp32.manifest, fp32.settings, "int8").logits(texts)
        print(f"smoothing {label}: int8 vs fp32 logit RMSE {np.sqrt(np.mean((logits - reference) ** 2)):.3f}")


if __name__ == "__main__":
    main()
