"""Export round trips: the exported models give the engine's own probabilities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifier.export import export
from classifier.scorer import Scorer, calibrated
from tests.support.data import CLICKBAIT, NEWS

TEXTS = [*NEWS, *CLICKBAIT, "  Extra   spaces\tand a tab ", "Orașul-minune al României!", "Cuvinte " * 60]


@pytest.fixture()
def fp32(default_fp32: Scorer) -> Scorer:
    """The default model on the fp32 engine (the session's, loaded once)."""
    return default_fp32


@pytest.mark.slow
def test_hf_export_loads_in_a_pipeline_with_our_probabilities(fp32: Scorer, tmp_path: Path) -> None:
    from transformers import pipeline

    out = tmp_path / "hf"
    export("default", out, "hf")
    config = json.loads((out / "config.json").read_text())
    assert config["clickbait_threshold"] == fp32.threshold and config["id2label"]["1"] == "clickbait"
    pipe = pipeline("text-classification", model=str(out), trust_remote_code=True)
    results = pipe(TEXTS, top_k=None, truncation=True)  # the engine cuts at the model's 48 tokens
    theirs = np.array([next(d["score"] for d in r if d["label"] == "clickbait") for r in results])
    # the global calibration: a graph knows no language; the corrections travel in the config
    global_only = calibrated(
        fp32.teaser_logits(fp32.centred(fp32.outputs(TEXTS), None)), fp32.manifest.temperature
    )
    np.testing.assert_allclose(theirs, global_only, atol=1e-4)
    assert pipe(TEXTS[0])[0]["label"] == "news"
    corrections = config["clickbait_languages"]
    assert set(corrections) == set(fp32.manifest.languages) and corrections
    langs = fp32.languages(TEXTS)
    neutral = {"below": 1.0, "above": 1.0, "offset": 0.0}
    below, above, offset = (
        np.array([corrections.get(lang, neutral)[name] for lang in langs]) for name in neutral
    )
    pivot, x = np.log(fp32.threshold / (1 - fp32.threshold)), np.log(theirs / (1 - theirs))
    corrected = 1 / (1 + np.exp(-(pivot + np.where(x >= pivot, above, below) * (x - pivot) + offset)))
    # the graph holds the kind heads' offset for any language; the per-language ones travel too
    assert config["clickbait_kinds_offsets"] == fp32.manifest.kinds_offsets
    anyone = fp32.teaser_logits(fp32.centred(fp32.outputs(TEXTS), None))
    ours = calibrated(anyone, fp32.manifest.temperature, **fp32.corrections(langs))
    np.testing.assert_allclose(corrected, ours, atol=1e-3)


@pytest.mark.slow
def test_hf_export_refuses_to_load_as_stock_bert(tmp_path: Path) -> None:
    """Without trust_remote_code transformers took the directory for its own BertForSequenceClassification,
    with a randomly initialised pooler, and answered nonsense; under a model type of its own it refuses."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, pipeline

    out = tmp_path / "hf"
    export("default", out, "hf")
    assert json.loads((out / "config.json").read_text())["model_type"] == "clickbait-bert"
    for load in (
        lambda: pipeline("text-classification", model=str(out)),
        lambda: AutoModelForSequenceClassification.from_pretrained(out),
        lambda: AutoConfig.from_pretrained(out),
    ):
        with pytest.raises(ValueError, match="trust_remote_code=True"):
            load()


@pytest.mark.slow  # the export and its int8 quantisation: ~30 s of CPU, the fast loop's largest test
def test_onnx_export_runs_in_onnx_runtime_with_our_probabilities(fp32: Scorer, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    from transformers import AutoConfig, AutoTokenizer

    out = tmp_path / "onnx"
    export("default", out, "onnx", int8=True)
    tokenizer = AutoTokenizer.from_pretrained(out)
    batch = tokenizer(TEXTS, padding=True, truncation=True, return_tensors="np")
    feeds = {
        "input_ids": batch["input_ids"].astype(np.int64),
        "attention_mask": batch["attention_mask"].astype(np.int64),
    }
    ours = calibrated(
        fp32.teaser_logits(fp32.centred(fp32.outputs(TEXTS), None)), fp32.manifest.temperature
    )  # global, as hf
    assert AutoConfig.from_pretrained(out).model_type == "bert"  # the graph is the network: no code of ours
    for name, tolerance in (("model.onnx", 1e-4), ("model.int8.onnx", 0.1)):
        logits = ort.InferenceSession(str(out / name)).run(["logits"], feeds)[0]
        probs = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
        np.testing.assert_allclose(probs, ours, atol=tolerance)
