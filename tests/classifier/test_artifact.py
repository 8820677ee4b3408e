"""Artifact save → load round trips and clear refusals of broken artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from classifier.artifact import (
    ArtifactError,
    BaseRef,
    LoraSpec,
    Manifest,
    add_lora,
    load_network,
    save_artifact,
)
from classifier.base import load_encoder, load_tokenizer, resolve_base
from classifier.bert import BertEncoder
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer
from classifier.torch_backend import TorchBackend
from tests.support.data import CLICKBAIT, NEWS

SPEC = LoraSpec(r=4, alpha=8, target_modules=["query", "value", "dense"])


def _random_model(tiny_base: Path, method: str) -> tuple[HeadlineClassifier, Manifest]:
    torch.manual_seed(7)
    base = resolve_base(str(tiny_base))
    encoder = load_encoder(base.path)
    if method == "lora":
        encoder = add_lora(encoder, SPEC)
        with torch.no_grad():  # LoRA B starts at zero; give the adapter a visible effect
            for name, p in encoder.named_parameters():
                if "lora_B" in name:
                    p.copy_(torch.randn_like(p).half().float() * 0.5)
    network = HeadlineClassifier(encoder)
    manifest = Manifest(
        version="test-1",
        base=BaseRef(name=base.name, sha256=base.sha256),
        method=method,
        lora=SPEC if method == "lora" else None,
        threshold=0.4,
        temperature=1.7,
    )
    return network.eval(), manifest


@pytest.mark.parametrize("method", ["lora", "full"])
def test_save_then_load_gives_the_same_scores(tmp_path: Path, tiny_base: Path, method: str) -> None:
    network, manifest = _random_model(tiny_base, method)
    texts = NEWS + CLICKBAIT
    before = Scorer(TorchBackend(network), load_tokenizer(tiny_base), manifest).probabilities(texts)
    save_artifact(network, manifest, tmp_path / "m", "# card\n")
    loaded = Scorer.load(tmp_path / "m")
    assert loaded.version == "test-1" and loaded.threshold == 0.4
    # merging LoRA into the weights reorders float sums: equal to well under 1e-4
    np.testing.assert_allclose(loaded.probabilities(texts), before, atol=1e-4)
    assert not np.allclose(before, before.mean(), atol=1e-3)  # the model says something


def test_saving_replaces_a_previous_artifact_whole(tmp_path: Path, tiny_base: Path) -> None:
    network, manifest = _random_model(tiny_base, "full")
    save_artifact(network, manifest, tmp_path / "m", "old")
    save_artifact(network, manifest.model_copy(update={"version": "test-2"}), tmp_path / "m", "new")
    assert (tmp_path / "m" / "README.md").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging directory left behind


def _saved(tmp_path: Path, tiny_base: Path) -> Path:
    network, manifest = _random_model(tiny_base, "lora")
    save_artifact(network, manifest, tmp_path / "m", "# card\n")
    return tmp_path / "m"


def test_scoring_gets_the_lean_encoder_and_training_transformers_one(tmp_path: Path, tiny_base: Path) -> None:
    model = _saved(tmp_path, tiny_base)
    assert isinstance(load_network(model)[0].encoder, BertEncoder)
    for network in (load_network(model, trainable=True)[0], load_network(model, merge=False)[0]):
        assert not isinstance(network.encoder, BertEncoder)
        assert any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in network.encoder.modules())


def test_truncated_weights_are_refused(tmp_path: Path, tiny_base: Path) -> None:
    model = _saved(tmp_path, tiny_base)
    adapter = model / "adapter.safetensors"
    adapter.write_bytes(adapter.read_bytes()[:100])
    with pytest.raises(ArtifactError, match="corrupt or truncated"):
        load_network(model)


def test_missing_manifest_and_wrong_format_are_refused(tmp_path: Path, tiny_base: Path) -> None:
    with pytest.raises(ArtifactError, match="manifest.json is missing"):
        load_network(tmp_path)
    model = _saved(tmp_path, tiny_base)
    manifest = json.loads((model / "manifest.json").read_text())
    (model / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ArtifactError, match="format version 99"):
        load_network(model)


def test_a_changed_base_is_refused(tmp_path: Path, tiny_base: Path) -> None:
    model = _saved(tmp_path, tiny_base)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["base"]["sha256"] = "0" * 64
    (model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="installed base hashes to"):
        load_network(model)
