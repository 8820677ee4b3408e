"""Decide, once per artifact, whether its int8 form keeps accuracy, and record the answer.

``quantize_artifact`` measures the encoder Linears' activation ranges on training headlines, builds the int8
engine (``classifier/engine.py``), re-fits temperature and threshold on its validation scores (int8
shifts the logits slightly; keeping the fp32 calibration flipped hundreds of decisions), and compares
macro-F1 with fp32 on every held-out split of the recipe. The manifest's ``int8`` section and the
smoothing scales file are written into the artifact; ``CLICKBAIT_ENGINE=auto`` then uses int8 only
where ``safe`` is true.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from classifier.artifact import MANIFEST, Int8Spec, read_manifest
from classifier.engine import activation_maxima, has_vnni, smoothing_scales, to_int8
from classifier.scorer import Scorer, calibrated
from classifier.settings import get_settings
from training.calibration import choose_threshold, fit_temperature
from training.config import TrainConfig
from training.data import Example
from training.evaluate import held_out_sets
from training.metrics import classification_metrics

CALIBRATION_ROWS = 512


def calibration_maxima(scorer: Scorer, train_rows: list[Example], seed: int) -> dict[str, torch.Tensor]:
    """Activation maxima of the smoothed Linears over ``CALIBRATION_ROWS`` seeded training headlines."""
    picked = np.random.default_rng(seed).choice(len(train_rows), size=min(CALIBRATION_ROWS, len(train_rows)),
                                                replace=False)
    return activation_maxima(scorer.network, lambda: scorer.logits([train_rows[i].text for i in picked]))


def quantize_artifact(
    model_dir: Path, config: TrainConfig, alpha: float = 0.8, max_drop: float = 0.005
) -> Int8Spec:
    """Measure int8 against fp32 on the recipe's held-out splits; write the verdict into the artifact."""
    fp32 = Scorer.load(model_dir, get_settings().model_copy(update={"engine": "fp32"}))
    train_rows, sets = held_out_sets(config)
    maxima = calibration_maxima(fp32, train_rows, config.seed)
    scales = smoothing_scales(fp32.network, maxima, alpha)

    texts = {name: [e.text for e in rows] for name, rows in sets.items()}
    labels = {name: np.array([e.label for e in rows]) for name, rows in sets.items()}
    fp32_logits = {name: fp32.logits(t) for name, t in texts.items()}
    full_range = has_vnni()
    int8 = Scorer(to_int8(fp32.network, scales, full_range), fp32.tokenizer, fp32.manifest, fp32.settings, "int8")
    int8_logits = {name: int8.logits(t) for name, t in texts.items()}

    validation = [name for name in sets if name.startswith("validation/")] or list(sets)
    val_logits = np.concatenate([int8_logits[n] for n in validation])
    val_labels = np.concatenate([labels[n] for n in validation])
    temperature = fit_temperature(val_logits, val_labels)
    threshold = choose_threshold(calibrated(val_logits, temperature), val_labels)

    manifest = fp32.manifest
    splits = {}
    for name in sets:
        ours = classification_metrics(labels[name], calibrated(fp32_logits[name], manifest.temperature),
                                      manifest.threshold)["macro_f1"]
        quantised = classification_metrics(labels[name], calibrated(int8_logits[name], temperature),
                                           threshold)["macro_f1"]
        splits[name] = {"n": len(sets[name]), "fp32": round(ours, 4), "int8": round(quantised, 4)}
    gaps = np.concatenate([int8_logits[name] - fp32_logits[name] for name in sets])
    spec = Int8Spec(
        safe=all(s["int8"] >= s["fp32"] - max_drop for s in splits.values()), alpha=alpha,
        temperature=temperature, threshold=threshold, max_drop=max_drop, full_range=full_range, splits=splits,
        logit_rmse=round(float(np.sqrt(np.mean(gaps**2))), 4),
    )
    save_file({k: v.contiguous() for k, v in scales.items()}, str(model_dir / spec.scales_file))
    (model_dir / spec.scales_file).chmod(0o644)
    updated = read_manifest(model_dir).model_copy(update={"int8": spec})
    staging = model_dir / f".{MANIFEST}.tmp"
    staging.write_text(updated.model_dump_json(indent=2))
    os.replace(staging, model_dir / MANIFEST)
    return spec
