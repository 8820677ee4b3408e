"""``clickbait quantize`` on a tiny trained model: the verdict, the scales and the int8 engine it enables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from classifier.artifact import LanguageCalibration, read_manifest, write_manifest
from classifier.engine import Bf16Linear, ffn_output_names, has_bf16
from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from tests.support.data import CLICKBAIT, NEWS
from training.config import TrainConfig
from training.quantize import quantize_artifact
from training.trainer import train

pytestmark = pytest.mark.slow


def test_quantize_records_its_check_and_the_int8_engine_loads(
    tmp_path: Path, train_file: Path, tiny_base: Path
) -> None:
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        f'data = ["{train_file}"]\nout = "{tmp_path / "model"}"\nbase = "{tiny_base}"\nmethod = "full"\n'
        "epochs = 12\nsamples_per_epoch = 64\nbatch_size = 16\nlr = 3e-3\nhead_lr = 1e-2\neval_every = 8\n"
        "patience = 50\nholdout_fraction = 0.25\nmax_length = 32\nseed = 1\n"
    )
    model = train(TrainConfig.from_sources(recipe, {})).out
    english = LanguageCalibration(below=1.5, above=0.7, rows=400)
    write_manifest(model, read_manifest(model).model_copy(update={"languages": {"en": english}}))
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "quantize", "--model", str(model), "--config", str(recipe)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "every encoder Linear in int8: macro-F1 points against fp32 validation/xx" in done.stderr
    printed = json.loads(done.stdout)
    manifest = json.loads((model / "manifest.json").read_text())["int8"]
    assert manifest == printed
    assert set(manifest["splits"]) == {"validation/xx"}  # the tiny data is all one language, "xx"
    assert all(0 <= s["int8"] <= 1 and 0 <= s["fp32"] <= 1 for s in manifest["splits"].values())
    assert manifest["safe"] == all(
        s["int8"] >= s["fp32"] - manifest["max_drop"] for s in manifest["splits"].values()
    )
    assert manifest["logit_rmse"] >= 0 and (model / manifest["scales_file"]).is_file()

    texts = NEWS + CLICKBAIT
    fp32 = Scorer.load(model, ClassifierSettings(engine="fp32"))
    int8 = Scorer.load(model, ClassifierSettings(engine="int8"))
    assert int8.engine == "int8" and int8.threshold == manifest["threshold"]
    assert int8.manifest.languages == {"en": english}  # the int8 re-fit keeps the per-language calibration
    fused = [name for name, _ in int8.network.named_modules() if name.endswith(".attention.qkv")]
    assert len(fused) == 2  # the scales saved for query, key and value are one: each layer fuses them
    assert np.corrcoef(int8.logits(texts), fp32.logits(texts))[0, 1] > 0.9

    # a check that nothing passes records the second form tried: FFN outputs left out of int8
    mixed = quantize_artifact(model, TrainConfig.from_sources(recipe, {}), max_drop=-1.0)
    assert not mixed.safe and mixed.float_linears == ffn_output_names(fp32.network)
    assert mixed.float_bf16 == has_bf16()
    kept = Bf16Linear if has_bf16() else torch.nn.Linear
    loaded = Scorer.load(model, ClassifierSettings(engine="int8")).network
    for name, module in loaded.named_modules():
        if name.startswith("encoder.encoder.layer.") and name.endswith(("dense", "query", "key", "value")):
            assert (type(module) is kept) == (name in mixed.float_linears), name
