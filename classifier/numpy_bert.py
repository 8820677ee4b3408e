"""The classifier's forward pass in numpy: the ``numpy`` engine, for a server that must not import
torch (whose import alone holds more of a served process than the model does:
``docs/results/2026-11-29-footprint.md``, ``docs/design/engine.md``).

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
    KINDS_FILE,
    ArtifactError,
    Manifest,
    checked_base,
    lora_deltas,
    read_manifest,
)
from classifier.base import ResolvedBase
from classifier.bert_shape import BertShape
from classifier.bundled import Q4_TABLE_FILE, TABLE, WEIGHTS_FILE

_SQRT_HALF = np.float32(1 / np.sqrt(2))
_GELU_SLICE = 1 << 15  # activations per slice of the GELU: its buffers stay in the cache


def gelu(h: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, 0.5·h·(1 + erf(h/√2)), in place. numpy has no erf: Abramowitz & Stegun
    7.1.26 (error ≤ 1.5e-7), a slice at a time into three reused buffers, so that its two dozen
    passes stay in the cache and allocate nothing (faster than with temporaries:
    ``docs/results/2026-11-30-numpy-engine.md``)."""
    flat = h.reshape(-1)
    buffers = np.empty((3, min(_GELU_SLICE, flat.size)), np.float32)
    for start in range(0, flat.size, _GELU_SLICE):
        x = flat[start : start + _GELU_SLICE]
        z, t, poly = buffers[:, : x.size]
        np.abs(x, out=z)
        z *= _SQRT_HALF
        np.multiply(z, np.float32(0.3275911), out=t)
        t += np.float32(1.0)
        np.reciprocal(t, out=t)
        np.multiply(t, np.float32(1.061405429), out=poly)
        for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
            poly += np.float32(coefficient)
            poly *= t  # Horner: poly(t) = a1·t + a2·t² + … + a5·t⁵ once the loop is done
        np.square(z, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        z *= poly  # e = 1 − erf(|x|/√2)
        np.abs(x, out=t)
        t *= np.float32(0.5)
        t *= z  # 0.5·|x|·e; GELU(x) = max(x, 0) − 0.5·|x|·e on both sides of 0
        np.maximum(x, np.float32(0.0), out=x)
        x -= t
    return h


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * weight + bias


ROWS = 64  # the rows a layer computes are topped up to a multiple of this


def _rows(attention_mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(flat indices into ``[batch * width]`` of the rows the layers compute, how many are real):
    the real tokens, topped up to a multiple of ``ROWS`` with copies of them, as the torch engines'
    ``classifier.bert.PaddedLayout`` does, so that a long-running server's allocations keep to a
    few dozen sizes; a copy changes no row's values."""
    real = np.flatnonzero(attention_mask.reshape(-1))
    copies = real[np.arange(-len(real) % ROWS) % max(len(real), 1)]
    return np.concatenate([real, copies]), len(real)


def _base_weights(base: Path, encoder: bool) -> dict[str, np.ndarray]:
    """The base's weights in fp32 (its encoder layers only if ``encoder``), its word embeddings as the
    4-bit blocks where the base has them."""
    weights: dict[str, np.ndarray] = {}
    q4 = (base / Q4_TABLE_FILE).is_file()
    with safe_open(str(base / WEIGHTS_FILE), framework="np") as file:
        for key in file.keys():
            wanted = encoder or not key.startswith("encoder.")
            if wanted and key != TABLE and not key.startswith("pooler."):
                weights[key] = file.get_tensor(key).astype(np.float32)
        if not q4:
            weights[TABLE] = file.get_tensor(TABLE).astype(np.float32)
    if q4:
        weights.update({f"q4.{k}": v for k, v in load_file(str(base / Q4_TABLE_FILE)).items()})
    return weights


def _tuned_encoder(
    model_dir: Path, manifest: Manifest, weights: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The artifact's encoder weights: the base's with the LoRA adapter merged, or its own."""
    if manifest.method != "lora":
        return {k: v.astype(np.float32) for k, v in load_file(str(model_dir / ENCODER_FILE)).items()}
    merged = {}
    for name, (scaling, a, b) in lora_deltas(manifest, load_file(str(model_dir / ADAPTER_FILE))).items():
        if f"{name}.weight" not in weights:
            raise ArtifactError(f"adapter weights for {name}, which the base model lacks")
        merged[f"{name}.weight"] = (
            weights[f"{name}.weight"] + (b.astype(np.float32) @ a.astype(np.float32)) * scaling
        )
    return merged


def _heads(model_dir: Path, manifest: Manifest) -> dict[str, np.ndarray]:
    """``head.weight`` (``[in, 1 + kinds]``: the teaser head, then one per kind) and ``head.bias``."""
    head = load_file(str(model_dir / HEAD_FILE))
    if manifest.kinds:
        kinds = load_file(str(model_dir / KINDS_FILE))
        head = {k: np.concatenate([head[k], kinds[k]]) for k in ("weight", "bias")}
    return {
        "head.weight": np.ascontiguousarray(head["weight"].T.astype(np.float32)),
        "head.bias": head["bias"].astype(np.float32),
    }


def mean_pooled(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """The mean of ``[batch, width, hidden]`` states over each row's real tokens."""
    counts = np.maximum(attention_mask.sum(1, keepdims=True).astype(np.float32), 1.0)
    return np.einsum("bwh,bw->bh", hidden, attention_mask.astype(np.float32)) / counts


class NumpyClassifier:
    """Returns one raw clickbait logit per headline, as ``HeadlineClassifier`` does; the ``numpy``
    engine's ``classifier.backend.Backend``."""

    engine = "numpy"

    def __init__(
        self,
        config: dict,
        weights: dict[str, np.ndarray],
        layers: int,
        kinds_layer: int | None = None,
        kinds_normalised: bool = False,
    ) -> None:
        """``weights``: BERT's names, the Linears already transposed to ``[in, out]``, each layer's
        query, key and value side by side as ``attention.self.qkv``; the word embeddings as
        ``q4.scales``/``q4.packed`` (4-bit blocks) or ``TABLE``; ``head.weight`` the teaser head,
        then the kind heads, read after ``kinds_layer`` layers, unit length if ``kinds_normalised``
        (``HeadlineClassifier``)."""
        self.heads = config["num_attention_heads"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.layers = layers
        self.kinds_layer, self.kinds_normalised = kinds_layer, kinds_normalised
        self.w = weights

    @classmethod
    def load(cls, base: Path, model_dir: Path, manifest: Manifest, encoder: bool = True) -> NumpyClassifier:
        """``encoder``: False reads only what surrounds the encoder's layers (the embeddings and the
        heads), for an engine that runs the layers itself (``classifier.onnx_int8``)."""
        config = json.loads((base / "config.json").read_text())
        if BertShape.of(config) is None:
            raise ArtifactError(
                f"the numpy and onnx engines compute BERT encoders only; {base} is not one: use fp32"
            )
        weights = _base_weights(base, encoder)
        if encoder:
            weights.update(_tuned_encoder(model_dir, manifest, weights))
        weights.update(_heads(model_dir, manifest))
        for key in [k for k, v in weights.items() if v.ndim == 2 and k.startswith("encoder.")]:
            weights[key] = np.ascontiguousarray(weights[key].T)  # [in, out]: x @ W, no copy per call
        layers = manifest.layers or config["num_hidden_layers"]
        for i in range(config["num_hidden_layers"] if encoder else 0):  # query, key and value as one product
            p = f"encoder.layer.{i}.attention.self."
            for part in ("weight", "bias"):
                three = [weights.pop(f"{p}{name}.{part}") for name in ("query", "key", "value")]
                if i < layers:
                    weights[f"{p}qkv.{part}"] = np.concatenate(three, axis=-1)
        return cls(config, weights, layers, manifest.kinds_layer, manifest.kinds_normalised)

    def _words(self, ids: np.ndarray) -> np.ndarray:
        if TABLE in self.w:
            return self.w[TABLE][ids]
        packed = self.w["q4.packed"][ids]
        codes = np.concatenate([packed & 0x0F, packed >> 4], axis=-1).astype(np.float32) - 8.0
        return (codes * self.w["q4.scales"][ids].astype(np.float32)[..., None]).reshape(*ids.shape, -1)

    def summed(self, input_ids: np.ndarray) -> np.ndarray:
        """The word, position and type embeddings of ``[batch, width]`` ids, summed (BERT's embedding
        layer before its LayerNorm)."""
        w = self.w
        return (
            self._words(input_ids)
            + w["embeddings.position_embeddings.weight"][: input_ids.shape[1]]
            + w["embeddings.token_type_embeddings.weight"][0]
        )

    def embed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, layer: int | None = None
    ) -> np.ndarray:
        """Mean of the hidden states after ``layer`` layers (None: the last) over real tokens."""
        return self._pooled(input_ids, attention_mask, self.layers if layer is None else layer)[-1]

    def _pooled(self, input_ids: np.ndarray, attention_mask: np.ndarray, *after: int) -> list[np.ndarray]:
        """The pooled vectors after each of ``after`` layers (ascending), in one pass. The layers compute the
        real tokens' rows only (``_rows``); attention, the one step that needs the padded layout,
        scatters its inputs into it and gathers its output back."""
        w, eps = self.w, self.eps
        batch, width = input_ids.shape
        x = _layer_norm(
            self.summed(input_ids), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps
        )
        hidden = x.shape[-1]
        size = hidden // self.heads
        rows, real = _rows(attention_mask)
        x = x.reshape(batch * width, hidden)[rows]
        masked = np.where(attention_mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        counts = np.maximum(attention_mask.sum(1, keepdims=True).astype(np.float32), 1.0)

        def pooled() -> np.ndarray:
            out = np.zeros((batch * width, hidden), np.float32)
            out[rows[:real]] = x[:real]
            return out.reshape(batch, width, hidden).sum(1) / counts

        found = [pooled()] * after.count(0)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def linear(name: str, inputs: np.ndarray, p: str = p) -> np.ndarray:
                return inputs @ w[f"{p}{name}.weight"] + w[f"{p}{name}.bias"]

            qkv = np.zeros((batch * width, 3 * hidden), np.float32)
            qkv[rows] = linear("attention.self.qkv", x)
            q, k, v = qkv.reshape(batch, width, 3, self.heads, size).transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + masked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * width, hidden)[rows]
            x = _layer_norm(
                x + linear("attention.output.dense", context),
                w[f"{p}attention.output.LayerNorm.weight"],
                w[f"{p}attention.output.LayerNorm.bias"],
                eps,
            )
            h = linear("intermediate.dense", x)
            h = gelu(h)
            x = _layer_norm(
                x + linear("output.dense", h),
                w[f"{p}output.LayerNorm.weight"],
                w[f"{p}output.LayerNorm.bias"],
                eps,
            )
            if i + 1 in after:
                found.append(pooled())
        return found

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.outputs(input_ids, attention_mask)[:, 0]

    def share_table(self, other: NumpyClassifier) -> None:
        """Keep one copy of a word-embedding table two networks hold alike (a routed model's)."""
        for key in ("q4.scales", "q4.packed", TABLE):
            if key in self.w and key in other.w and np.array_equal(self.w[key], other.w[key]):
                self.w[key] = other.w[key]

    def outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """[batch, 1 + kinds]: the teaser logit, then each kind's (``HeadlineClassifier.outputs``)."""
        weight, bias = self.w["head.weight"], self.w["head.bias"]
        if self.kinds_layer in (None, self.layers):
            pooled = read = self.embed(input_ids, attention_mask)
        else:
            read, pooled = self._pooled(input_ids, attention_mask, self.kinds_layer, self.layers)
        if self.kinds_normalised:
            read = read / np.maximum(np.linalg.norm(read, axis=-1, keepdims=True), 1e-12)
        return np.concatenate([pooled @ weight[:, :1], read @ weight[:, 1:]], axis=1) + bias


def load_numpy_network(model_dir: Path) -> tuple[NumpyClassifier, Manifest, ResolvedBase]:
    """An artifact's network as the numpy engine computes it, with its manifest and base."""
    manifest = read_manifest(model_dir)
    base = checked_base(model_dir, manifest)
    return NumpyClassifier.load(base.path, model_dir, manifest), manifest, base
