"""Why the int8 engine smooths every encoder Linear and keeps the FFN outputs out of int8 where needed:
logit error against fp32 of each form, and the evidence behind the choices, from training rows.

Usage (repository root, ../shared beside it):
    python benchmarks/smoothing.py [--model default] [--config training/configs/default.toml] [--alpha 0.8]
    python benchmarks/smoothing.py --alphas 0.5 0.6 0.7 0.75 0.8 0.85 0.9   # α judged on training rows
    python benchmarks/smoothing.py --sensitivity 400   # each Linear quantised alone, on 400 training rows

Activation maxima come from the same 512 training headlines ``clickbait quantize`` uses. The forms
are compared by the RMSE between int8 and fp32 logits over every held-out row of the recipe; α and
the per-Linear sensitivity are judged on other training headlines (seeded), not on the held-out
splits that ``clickbait quantize`` gates on.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Collection
from pathlib import Path

import numpy as np
import torch

from classifier.engine import ffn_output_names, has_bf16, has_vnni, smoothing_scales, to_int8
from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from classifier.torch_backend import TorchBackend
from training.config import TrainConfig
from training.evaluate import held_out_sets
from training.quantize import calibration_maxima

PROBE_SEED = 99  # training headlines for α and sensitivity: a draw of their own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--config", type=Path, default=Path("training/configs/default.toml"))
    parser.add_argument("--alpha", type=float, default=0.8)
    parser.add_argument("--alphas", type=float, nargs="+", help="instead: RMSE on 1,500 training rows per α")
    parser.add_argument(
        "--sensitivity", type=int, metavar="ROWS", help="instead: each Linear quantised alone"
    )
    args = parser.parse_args()

    config = TrainConfig.from_sources(args.config, {})
    fp32 = Scorer.load(args.model, ClassifierSettings(engine="fp32"))
    train_rows, sets = held_out_sets(config)
    maxima = calibration_maxima(fp32, train_rows, config.seed)

    def rmse(
        scales: dict[str, torch.Tensor],
        keep: Collection[str],
        texts: list[str],
        reference: np.ndarray,
        keep_bf16: bool = has_bf16(),
    ) -> float:
        network = to_int8(copy.deepcopy(fp32.network), scales, has_vnni(), keep, keep_bf16)
        logits = Scorer(TorchBackend(network, "int8"), fp32.tokenizer, fp32.manifest, fp32.settings).logits(
            texts
        )
        return float(np.sqrt(np.mean((logits - reference) ** 2)))

    if args.alphas or args.sensitivity:
        picked = np.random.default_rng(PROBE_SEED).choice(
            len(train_rows), args.sensitivity or 1500, replace=False
        )
        probe = [train_rows[i].text for i in picked]
        reference = fp32.logits(probe)
        for alpha in args.alphas or []:
            scales = smoothing_scales(fp32.network, maxima, alpha)
            error = rmse(scales, [], probe, reference)
            print(f"alpha {alpha}: RMSE on {len(probe)} training headlines {error:.4f}")
        if args.sensitivity:
            scales = smoothing_scales(fp32.network, maxima, args.alpha)
            alone = {n: rmse(scales, set(maxima) - {n}, probe, reference, keep_bf16=False) for n in maxima}
            print(f"each Linear quantised alone, RMSE on {len(probe)} training headlines, largest first:")
            for name, error in sorted(alone.items(), key=lambda item: -item[1])[:15]:
                print(f"{error:.4f} {name}")
        return

    texts = [e.text for rows in sets.values() for e in rows]
    reference = fp32.logits(texts)
    ffn_outputs = ffn_output_names(fp32.network)
    print(f"{len(texts)} held-out headlines, alpha {args.alpha}")
    for label, names, keep in (
        ("the 12 FFN outputs", ffn_outputs, []),
        (f"all {len(maxima)} Linears", list(maxima), []),
        (
            f"all {len(maxima)} Linears, the FFN outputs kept in {'bf16' if has_bf16() else 'fp32'}",
            list(maxima),
            ffn_outputs,
        ),
    ):
        scales = smoothing_scales(fp32.network, {n: maxima[n] for n in names}, args.alpha)
        print(f"smoothing {label}: int8 vs fp32 logit RMSE {rmse(scales, keep, texts, reference):.3f}")


if __name__ == "__main__":
    main()
