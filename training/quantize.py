"""Decide, once per artifact, whether its int8 form keeps accuracy, and record the answer.

``quantize_artifact`` measures the encoder Linears' activation ranges on training headlines, builds the int8
engine (``classifier/engine.py``), re-fits temperature and threshold on its validation scores (int8
shifts the logits slightly; keeping the fp32 calibration flipped decisions near the threshold), and compares
macro-F1 with fp32 on every held-out split of the recipe. The manifest's ``int8`` section and the
smoothing scales file are written into the artifact; ``CLICKBAIT_ENGINE=auto`` then uses int8 only
where ``safe`` is true.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from classifier.artifact import ArtifactError, Int8Spec, Manifest, RuntimeCheck, read_manifest, write_manifest
from classifier.backend import installed, load_backend
from classifier.base import load_tokenizer
from classifier.engine import (
    activation_maxima,
    ffn_output_names,
    has_bf16,
    has_vnni,
    smoothing_scales,
    to_int8,
)
from classifier.scorer import Scorer, calibrated
from classifier.settings import get_settings
from classifier.torch_backend import TorchBackend
from training.calibration import fit_calibration
from training.config import TrainConfig
from training.data import Example, random_rows
from training.evaluate import held_out_sets
from training.metrics import classification_metrics

CALIBRATION_ROWS = 512
log = logging.getLogger(__name__)


def calibration_maxima(scorer: Scorer, train_rows: list[Example], seed: int) -> dict[str, torch.Tensor]:
    """Activation maxima of the smoothed Linears over ``CALIBRATION_ROWS`` seeded training headlines."""
    picked = random_rows(train_rows, CALIBRATION_ROWS, seed)
    return activation_maxima(scorer.network, lambda: scorer.logits([e.text for e in picked]))


def quantize_artifact(
    model_dir: Path, config: TrainConfig, alpha: float = 0.8, max_drop: float = 0.005
) -> Int8Spec:
    """Measure int8 against fp32 on the recipe's held-out splits; write the verdict into the artifact."""
    train_rows, sets = held_out_sets(config)
    return quantize_on(model_dir, train_rows, sets, config.seed, alpha, max_drop)


def quantize_on(
    model_dir: Path,
    train_rows: list[Example],
    sets: dict[str, list[Example]],
    seed: int,
    alpha: float = 0.8,
    max_drop: float = 0.005,
    calibration: tuple[float, float] | None = None,
) -> Int8Spec:
    """Measure int8 against fp32 on ``sets`` (activation ranges from ``train_rows``); write the verdict.

    Two forms are tried in turn and the first that keeps macro-F1 on every split is recorded: every
    encoder Linear in int8, then the same with the FFN output projections left in floating point —
    bf16 where this CPU has bf16 arithmetic, else fp32 (their inputs carry the outliers that
    smoothing tames least; ``benchmarks/smoothing.py``). If neither does, the second is recorded,
    unsafe. The int8 form's temperature and threshold are re-fitted on the ``validation/…`` sets, or
    on all of them when none is named so, unless ``calibration`` (temperature, threshold) fixes them.
    """
    fp32 = Scorer.load(model_dir, engine="fp32")
    scales = smoothing_scales(fp32.network, calibration_maxima(fp32, train_rows, seed), alpha)
    texts = {name: [e.text for e in rows] for name, rows in sets.items()}
    labels = {name: np.array([e.label for e in rows]) for name, rows in sets.items()}
    reference = {name: fp32.logits(t) for name, t in texts.items()}
    for keep in ([], ffn_output_names(fp32.network)):
        network = to_int8(copy.deepcopy(fp32.network), scales, has_vnni(), keep, has_bf16())
        int8 = Scorer(TorchBackend(network, "int8"), fp32.tokenizer, fp32.manifest, fp32.settings)
        measured = _held_out_check(
            fp32.manifest, reference, {n: int8.logits(t) for n, t in texts.items()}, labels, calibration
        )
        spec = Int8Spec(
            safe=all(s["int8"] >= s["fp32"] - max_drop for s in measured["splits"].values()),
            alpha=alpha,
            max_drop=max_drop,
            full_range=has_vnni(),
            float_linears=keep,
            float_bf16=bool(keep) and has_bf16(),
            **measured,
        )
        log.info(
            "%s: macro-F1 points against fp32 %s, logit RMSE %.3f%s",
            "FFN outputs kept in floating point" if keep else "every encoder Linear in int8",
            ", ".join(
                f"{name} {100 * (m['int8'] - m['fp32']):+.2f}" for name, m in measured["splits"].items()
            ),
            spec.logit_rmse,
            "" if spec.safe else f" (more than {100 * max_drop:.2f} lost somewhere)",
        )
        if spec.safe:
            break
    save_file({k: v.contiguous() for k, v in scales.items()}, str(model_dir / spec.scales_file))
    (model_dir / spec.scales_file).chmod(0o644)
    write_manifest(model_dir, read_manifest(model_dir).model_copy(update={"int8": spec}))
    if installed("onnx"):
        spec = check_runtime(model_dir, sets, reference).int8
    return spec


def check_runtime(
    model_dir: Path, sets: dict[str, list[Example]], reference: dict[str, np.ndarray] | None = None
) -> Manifest:
    """Measure the artifact's int8 form as ONNX Runtime runs it (the ``onnx`` engine) on ``sets``, at
    the int8 form's calibration, against the fp32 macro-F1 its ``int8`` check recorded; record the
    verdict (``Int8Spec.onnx``) in the artifact. ``reference``: fp32 logits per set, if at hand."""
    manifest = read_manifest(model_dir)
    spec = manifest.int8
    if spec is None or set(sets) - set(spec.splits):
        raise ArtifactError(f"{model_dir}: run `clickbait quantize` with this recipe first")
    if reference is None:
        fp32 = Scorer.load(model_dir, engine="fp32")
        reference = {name: fp32.logits([e.text for e in rows]) for name, rows in sets.items()}
    # this network alone, as the int8 check measures it (a routed model's fallback has its own)
    backend, onnx_manifest, base = load_backend(
        model_dir, get_settings().model_copy(update={"engine": "onnx"})
    )
    runtime = Scorer(backend, load_tokenizer(base.path), onnx_manifest)
    logits = {name: runtime.logits([e.text for e in rows]) for name, rows in sets.items()}
    splits = {
        name: round(
            classification_metrics(
                np.array([e.label for e in rows]), calibrated(logits[name], spec.temperature), spec.threshold
            )["macro_f1"],
            4,
        )
        for name, rows in sets.items()
    }
    gaps = np.concatenate([logits[name] - reference[name] for name in sets])
    check = RuntimeCheck(
        safe=all(f1 >= spec.splits[name]["fp32"] - spec.max_drop for name, f1 in splits.items()),
        runtime=onnxruntime_version(),
        splits=splits,
        logit_rmse=round(float(np.sqrt(np.mean(gaps**2))), 4),
    )
    log.info(
        "onnx engine: macro-F1 points against fp32 %s, logit RMSE %.3f",
        ", ".join(f"{name} {100 * (f1 - spec.splits[name]['fp32']):+.2f}" for name, f1 in splits.items()),
        check.logit_rmse,
    )
    updated = manifest.model_copy(update={"int8": spec.model_copy(update={"onnx": check})})
    write_manifest(model_dir, updated)
    return updated


def onnxruntime_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def _held_out_check(
    manifest: Manifest,
    fp32_logits: dict[str, np.ndarray],
    int8_logits: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    calibration: tuple[float, float] | None = None,
) -> dict:
    """Temperature and threshold re-fitted on the int8 validation scores (unless ``calibration``
    fixes them), then macro-F1 per split and the logits' distance from fp32: the measured fields of
    an ``Int8Spec``."""
    if calibration is None:
        validation = [name for name in labels if name.startswith("validation/")] or list(labels)
        val_logits = np.concatenate([int8_logits[n] for n in validation])
        val_labels = np.concatenate([labels[n] for n in validation])
        fitted = fit_calibration(val_logits, val_labels, None)  # int8 keeps fp32's languages
        temperature, threshold = fitted.temperature, fitted.threshold
    else:
        temperature, threshold = calibration
    splits = {}
    for name, truth in labels.items():
        ours = classification_metrics(
            truth, calibrated(fp32_logits[name], manifest.temperature), manifest.threshold
        )["macro_f1"]
        quantised = classification_metrics(truth, calibrated(int8_logits[name], temperature), threshold)[
            "macro_f1"
        ]
        splits[name] = {"n": len(truth), "fp32": round(ours, 4), "int8": round(quantised, 4)}
    gaps = np.concatenate([int8_logits[name] - fp32_logits[name] for name in labels])
    return {
        "temperature": temperature,
        "threshold": threshold,
        "splits": splits,
        "logit_rmse": round(float(np.sqrt(np.mean(gaps**2))), 4),
    }
