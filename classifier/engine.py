"""The inference engine: which numeric form of a loaded network scores headlines.

``fp32`` is the network as trained. ``int8`` is the fast CPU form: encoder Linears as dynamically
quantised int8 (all 8 activation bits where the CPU has VNNI), their inputs smoothed SmoothQuant-
style because the activations carry outlier channels per-tensor int8 cannot hold (the division
stays a runtime multiply: in this post-LayerNorm encoder the LayerNorm outputs also feed the
residual path); query, key and value share one scale and run as one fused Linear; the mixed form
leaves the 12 FFN output projections out of int8 (bf16 where the CPU has it), since each of them
alone moves the logits most. The 250k-row word-embedding table is fp16 under both forms, or the
bundled base's own 4-bit blocks where the lean encoder read it so (``classifier.bert.Q4Embedding``).

The choice per model is made once, offline, by ``clickbait quantize`` (``training/quantize.py``),
which records in the manifest whether int8 kept macro-F1 on every held-out split; ``engine="auto"``
trusts that record, since a load-time probe could only check agreement with fp32, not accuracy.
Why each piece is there: docs/design/engine.md; what each costs or gains:
docs/results/2026-11-29-int8-check.md and docs/results/2026-11-29-engines.md.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Literal

import torch
from safetensors.torch import load_file
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

from classifier.artifact import ArtifactError, Manifest, int8_calibrated
from classifier.bert import QKV, BertLayer, HalfEmbedding
from classifier.cpu import has_bf16, has_vnni
from classifier.network import HeadlineClassifier

log = logging.getLogger(__name__)


class FullRangeLinear(DynamicLinear):
    """A dynamic int8 Linear quantising its activations to 8 bits instead of 7 (VNNI CPUs only)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        packed = self._packed_params._packed_params
        return torch.ops.quantized.linear_dynamic(x, packed, reduce_range=False).to(x.dtype)


class Bf16Linear(nn.Module):
    """A Linear computing in bf16 (fp32 accumulation) for the layers int8 would hurt, on CPUs that
    have bf16 arithmetic; weights stored in bf16."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.register_buffer("weight", linear.weight.detach().bfloat16())
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().bfloat16())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x.bfloat16(), self.weight, self.bias).float()


class Smoothed(nn.Module):
    """x ↦ linear(x / s): the per-channel division that moves activation outliers into the weights."""

    def __init__(self, linear: nn.Module, scales: torch.Tensor) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer("inverse", 1.0 / scales)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inverse)


def smoothed_names(network: HeadlineClassifier) -> list[str]:
    """The Linears whose inputs are smoothed: all of the encoder's (the head stays fp32)."""
    return [
        name
        for name, module in network.named_modules()
        if isinstance(module, nn.Linear) and name.startswith("encoder.")
    ]


def ffn_output_names(network: HeadlineClassifier) -> list[str]:
    """The FFN output projections (1536 → 384), whose inputs, GELU outputs, have the worst outliers."""
    return [
        name
        for name in smoothed_names(network)
        if name.endswith(".output.dense") and ".attention." not in name
    ]


def activation_maxima(network: HeadlineClassifier, run: Callable[[], object]) -> dict[str, torch.Tensor]:
    """Per-channel max |input| of every smoothed Linear while ``run()`` scores headlines."""
    maxima: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def record(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            seen = args[0].detach().abs().amax(dim=tuple(range(args[0].dim() - 1)))
            maxima[name] = torch.maximum(maxima[name], seen) if name in maxima else seen

        return record

    handles = [network.get_submodule(n).register_forward_pre_hook(hook(n)) for n in smoothed_names(network)]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return maxima


def smoothing_scales(
    network: HeadlineClassifier, maxima: dict[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """s_j = max|x_j|^α / max|W_j|^(1-α) for every smoothed projection; the query, key and value
    projections of a layer read the same input and share one scale (W: the three stacked), so that
    the engine can fuse them (``BertLayer.fuse_qkv``)."""
    groups: dict[str, list[str]] = {}
    for name in maxima:
        parent, _, child = name.rpartition(".")
        groups.setdefault(parent if child in QKV else name, []).append(name)
    scales = {}
    for names in groups.values():
        weight = torch.stack(
            [network.get_submodule(n).weight.detach().abs().amax(dim=0) for n in names]
        ).amax(dim=0)
        act = torch.stack([maxima[n] for n in names]).amax(dim=0)  # one input: the same maxima
        scale = (act.clamp(min=1e-5).pow(alpha) / weight.clamp(min=1e-5).pow(1 - alpha)).float()
        scales.update(
            {name: scale.clone() for name in names}
        )  # saved apart: safetensors refuses shared memory
    return scales


def to_int8(
    network: HeadlineClassifier,
    scales: dict[str, torch.Tensor],
    full_range: bool,
    keep: Collection[str] = (),
    keep_bf16: bool = False,
) -> HeadlineClassifier:
    """The int8 form, in place: smoothing, per-channel dynamic int8 encoder Linears (8-bit activations
    if ``full_range``, else torch's 7) except those named in ``keep``, which stay in floating point
    (bf16 if ``keep_bf16``, else fp32); fp16 embeddings. In lean layers whose query, key and value
    share a scale, those three become ``attention.qkv``."""
    compact_embeddings(network)  # first: the quantised Linears keep their fp32 biases as they are
    scales = _fuse_shared_inputs(network, scales, keep)
    with torch.no_grad():
        for name, scale in scales.items():
            if name not in keep:
                linear = network.get_submodule(name)
                linear.weight.mul_(scale)
                _replace(network, name, Smoothed(linear, scale))
    if keep_bf16:
        for name in keep:
            _replace(network, name, Bf16Linear(network.get_submodule(name)))
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {
        f"encoder.{name}": per_channel_dynamic_qconfig
        for name, module in network.encoder.named_modules()
        if isinstance(module, nn.Linear) and f"encoder.{name}" not in keep
    }
    with (
        warnings.catch_warnings()
    ):  # torch.ao points at torchao; the eager API still works and needs no extra
        warnings.simplefilter("ignore")
        quantize_dynamic(network, spec, inplace=True)
    if full_range:
        for module in network.modules():
            if type(module) is DynamicLinear:
                module.__class__ = FullRangeLinear
    return network.eval()


def _fuse_shared_inputs(
    network: HeadlineClassifier, scales: dict[str, torch.Tensor], keep: Collection[str]
) -> dict[str, torch.Tensor]:
    """Fuse each lean layer's query, key and value projections where all three go to int8 with one
    shared smoothing scale (artifacts quantised before scales were shared keep three); returns the
    scales under the fused names."""
    scales = dict(scales)
    for prefix, layer in list(network.named_modules()):  # fusing changes the tree
        names = [f"{prefix}.attention.self.{name}" for name in QKV]
        if not isinstance(layer, BertLayer) or any(n not in scales or n in keep for n in names):
            continue
        if all(torch.equal(scales[n], scales[names[0]]) for n in names):
            layer.fuse_qkv()
            scales[f"{prefix}.attention.qkv"] = scales[names[0]]
            for name in names:
                del scales[name]
    return scales


def _replace(network: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(network.get_submodule(parent), child, module)


def compact_embeddings(network: HeadlineClassifier) -> None:
    """The word-embedding table in fp16, and every weight copied out of the base file's memory map.

    The loaded weights are views of the memory-mapped base file; converting the table reads all of
    it, and those page-cache pages count as the process's resident memory for as long as any view
    keeps the map open. Owning copies (of weights small beside the table) let the map close
    (``docs/results/2026-11-29-engines.md``).
    """
    embeddings = network.encoder.embeddings
    if isinstance(embeddings.word_embeddings, nn.Embedding):
        table = embeddings.word_embeddings
        embeddings.word_embeddings = HalfEmbedding(table.weight.detach().half())
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.data = parameter.data.clone()


def load_scales(model_dir: Path, manifest: Manifest) -> dict[str, torch.Tensor]:
    if manifest.int8 is None:
        raise ArtifactError(f"{model_dir} has no int8 calibration: run `clickbait quantize` on it first")
    path = model_dir / manifest.int8.scales_file
    if not path.is_file():
        raise ArtifactError(f"{model_dir}: {manifest.int8.scales_file} is missing")
    return load_file(str(path))


def build_engine(
    network: HeadlineClassifier, manifest: Manifest, model_dir: Path, chosen: Literal["fp32", "int8"]
) -> tuple[HeadlineClassifier, Manifest, Literal["fp32", "int8"]]:
    """The network to score with and the manifest whose temperature and threshold belong to it."""
    if next(network.parameters()).device.type != "cpu":  # the int8 kernels are for CPUs
        return network, manifest, "fp32"
    if chosen == "fp32":
        compact_embeddings(network)
        return network, manifest, "fp32"
    spec = manifest.int8
    network = to_int8(
        network,
        load_scales(model_dir, manifest),
        spec.full_range and has_vnni(),
        spec.float_linears,
        spec.float_bf16 and has_bf16(),
    )
    log.info("int8 engine (temperature %.3f, threshold %.3f)", spec.temperature, spec.threshold)
    return network, int8_calibrated(manifest), "int8"
