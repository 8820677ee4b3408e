"""The classifier's forward pass in numpy: the ``numpy`` engine, for a server that must not import
torch (~194 MB of a served process before any model is touched: ``docs/design/engine.md``).

The same network as ``classifier.bert`` computes, in fp32, from the same files: the base's BERT
weights (without its dense word-embedding table), its 4-bit table, the artifact's LoRA adapter
merged as ``classifier.artifact`` merges it (or its ``encoder.safetensors``), its layer cut and its
head. Its logits match the fp32 engine's to float rounding (``tests/service/test_numpy_engine.py``).
It reads no int8 scales: its decisions are the fp32 model's, at the fp32 calibration.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

from classifier.artifact import (
    ADAPTER_FILE,
    ENCODER_FILE,
    HEAD_FILE,
    ArtifactError,
    Manifest,
    checked_base,
    lora_deltas,
    read_manifest,
)
from classifier.base import ResolvedBase
from classifier.bundled import Q4_TABLE_FILE, TABLE, WEIGHTS_FILE

_SQRT_HALF = np.float32(1 / np.sqrt(2))


def _gelu(h: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, 0.5·h·(1 + erf(h/√2)), in place. numpy has no erf: Abramowitz & Stegun
    7.1.26 (error ≤ 1.5e-7), a slice at a time so that its dozen passes stay in the cache."""
    step = 1 << 15
    flat = h.reshape(-1)
    for start in range(0, flat.size, step):
        x = flat[start : start + step]
        z = np.abs(x) * _SQRT_HALF
        t = 1.0 / (1.0 + 0.3275911 * z)
        poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
        np.square(z, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        z *= poly  # e = 1 − erf(|x|/√2)
        z *= 0.5 * np.abs(x)  # z = 0.5·|x|·e; GELU is x − z where x ≥ 0, −z where x < 0
        x -= np.where(x >= 0, z, z + x)
    return h


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * weight + bias


class NumpyClassifier:
    """Returns one raw clickbait logit per headline, as ``HeadlineClassifier`` does."""

    def __init__(self, config: dict, weights: dict[str, np.ndarray], layers: int) -> None:
        """``weights``: BERT's names, the Linears already transposed to ``[in, out]``; the word
        embeddings as ``q4.scales``/``q4.packed`` (4-bit blocks) or ``TABLE``."""
        self.heads = config["num_attention_heads"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.layers = layers
        self.w = weights

    @classmethod
    def load(cls, base: Path, model_dir: Path, manifest: Manifest) -> NumpyClassifier:
        config = json.loads((base / "config.json").read_text())
        if config.get("model_type") != "bert" or config.get("hidden_act", "gelu") != "gelu":
            raise ArtifactError(f"the numpy engine computes BERT encoders only; {base} is not one: use fp32")
        weights: dict[str, np.ndarray] = {}
        with safe_open(str(base / WEIGHTS_FILE), framework="np") as file:
            for key in file.keys():
                if key != TABLE and not key.startswith("pooler."):
                    weights[key] = file.get_tensor(key).astype(np.float32)
            if not (base / Q4_TABLE_FILE).is_file():
                weights[TABLE] = file.get_tensor(TABLE).astype(np.float32)
        if (base / Q4_TABLE_FILE).is_file():
            weights.update({f"q4.{k}": v for k, v in load_file(str(base / Q4_TABLE_FILE)).items()})
        if manifest.method == "lora":
            for name, (scaling, a, b) in lora_deltas(
                manifest, load_file(str(model_dir / ADAPTER_FILE))
            ).items():
                if f"{name}.weight" not in weights:
                    raise ArtifactError(f"adapter weights for {name}, which the base model lacks")
                weights[f"{name}.weight"] += (b.astype(np.float32) @ a.astype(np.float32)) * scaling
        else:
            weights.update(
                {k: v.astype(np.float32) for k, v in load_file(str(model_dir / ENCODER_FILE)).items()}
            )
        head = load_file(str(model_dir / HEAD_FILE))
        weights["head.weight"], weights["head.bias"] = (
            head["weight"][0].astype(np.float32),
            head["bias"].astype(np.float32),
        )
        for key in [k for k, v in weights.items() if v.ndim == 2 and k.startswith("encoder.")]:
            weights[key] = np.ascontiguousarray(weights[key].T)  # [in, out]: x @ W, no copy per call
        return cls(config, weights, manifest.layers or config["num_hidden_layers"])

    def _words(self, ids: np.ndarray) -> np.ndarray:
        if TABLE in self.w:
            return self.w[TABLE][ids]
        packed = self.w["q4.packed"][ids]
        codes = np.concatenate([packed & 0x0F, packed >> 4], axis=-1).astype(np.float32) - 8.0
        return (codes * self.w["q4.scales"][ids].astype(np.float32)[..., None]).reshape(*ids.shape, -1)

    def embed(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Mean of the last hidden states over real tokens."""
        w, eps = self.w, self.eps
        batch, width = input_ids.shape
        x = (
            self._words(input_ids)
            + w["embeddings.position_embeddings.weight"][:width]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        x = x.reshape(batch * width, -1)
        hidden = x.shape[1]
        size = hidden // self.heads
        masked = np.where(attention_mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def linear(name: str, rows: np.ndarray, p: str = p) -> np.ndarray:
                return rows @ w[f"{p}{name}.weight"] + w[f"{p}{name}.bias"]

            def split(rows: np.ndarray) -> np.ndarray:
                return rows.reshape(batch, width, self.heads, size).transpose(0, 2, 1, 3)

            q, k, v = (split(linear(f"attention.self.{n}", x)) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + masked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * width, hidden)
            x = _layer_norm(
                x + linear("attention.output.dense", context),
                w[f"{p}attention.output.LayerNorm.weight"],
                w[f"{p}attention.output.LayerNorm.bias"],
                eps,
            )
            h = linear("intermediate.dense", x)
            h = _gelu(h)
            x = _layer_norm(
                x + linear("output.dense", h),
                w[f"{p}output.LayerNorm.weight"],
                w[f"{p}output.LayerNorm.bias"],
                eps,
            )
        mask = attention_mask[..., None].astype(np.float32)
        return (x.reshape(batch, width, hidden) * mask).sum(1) / np.maximum(mask.sum(1), 1.0)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.embed(input_ids, attention_mask) @ self.w["head.weight"] + self.w["head.bias"][0]


def load_numpy_network(model_dir: Path) -> tuple[NumpyClassifier, Manifest, ResolvedBase]:
    """An artifact's network as the numpy engine computes it, with its manifest and base."""
    manifest = read_manifest(model_dir)
    base = checked_base(model_dir, manifest)
    return NumpyClassifier.load(base.path, model_dir, manifest), manifest, base


def share_table(network: NumpyClassifier, other: NumpyClassifier) -> None:
    """Keep one copy of a word-embedding table two networks hold alike (a routed model's)."""
    for key in ("q4.scales", "q4.packed", TABLE):
        if key in network.w and key in other.w and np.array_equal(network.w[key], other.w[key]):
            network.w[key] = other.w[key]
