"""The classifier's encoder as an int8 ONNX Runtime graph: the ``onnx`` engine, fast and without torch.

The graph is built from the same weights the numpy engine reads (the base's BERT weights with the
artifact's LoRA merged, ``classifier.numpy_bert``), in ONNX Runtime's fused encoder operators
(``Attention``, ``SkipLayerNormalization``, ``BiasGelu``), with the artifact's int8 form applied as
``clickbait quantize`` recorded it (``Manifest.int8``): each smoothed Linear's input divided by its
smoothing scale and its weight multiplied by it, the Linears left in floating point kept so, and then
ONNX Runtime's own dynamic quantisation (per-channel int8 weights, 8-bit activations quantised per
call). Built once per artifact and runtime version, and kept in the cache directory.

The word-embedding table stays outside the graph in the base's 4-bit blocks: the graph gets each
batch's summed embeddings, so it holds only the encoder's layers. Pooling and the heads are the numpy
engine's (``NumpyClassifier``), which this class extends with the graph as its encoder pass.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.artifact import ADAPTER_FILE, ENCODER_FILE, ArtifactError, Manifest
from classifier.base import ResolvedBase
from classifier.cpu import has_vnni
from classifier.numpy_bert import NumpyClassifier, load_numpy_network, mean_pooled

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

GRAPH_VERSION = "2"  # raise when the graph built from the same artifact changes
MS_DOMAIN = "com.microsoft"
ENCODER_PREFIX = "encoder.encoder.layer."  # the int8 spec names Linears as the torch network does


class _Graph:
    """The encoder graph of one network as it is built: nodes, initialisers, and the MatMuls the
    int8 form keeps in floating point (which the quantiser is told to leave)."""

    def __init__(self, network: NumpyClassifier, scales: dict[str, np.ndarray], keep: set[str]) -> None:
        self.w, self.eps, self.heads = network.w, network.eps, network.heads
        self.scales, self.keep = scales, keep
        self.nodes: list = []
        self.initialisers: list = []
        self.float_matmuls: list[str] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initialisers.append(numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attributes) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attributes))
        return output

    def scale(self, linear: str) -> np.ndarray | None:
        """The smoothing scale of a Linear (the torch network's module name) the int8 form quantises."""
        return None if linear in self.keep or linear not in self.scales else self.scales[linear]

    def smoothed(self, x: str, name: str, linear: str) -> tuple[str, np.ndarray]:
        """``x`` divided by the Linear's smoothing scale (as a multiply) and the Linear ``name``'s
        ``[in, out]`` weight with its rows multiplied by it; both as they are where it has none."""
        scale, weight = self.scale(linear), self.w[f"{name}.weight"]
        if scale is None:
            return x, weight
        inverse = self.constant(f"{name}.inverse_scale", 1.0 / scale)
        return self.node("Mul", [x, inverse], f"{name}.smoothed"), weight * scale[:, None]

    def matmul(self, x: str, name: str, linear: str) -> str:
        """``x`` times the Linear ``name`` (smoothed)."""
        x, weight = self.smoothed(x, name, linear)
        if linear in self.keep:
            self.float_matmuls.append(f"{name}.projected")
        return self.node("MatMul", [x, self.constant(name, weight)], f"{name}.projected")

    def dense_and_norm(self, p: str, block: str, inputs: str, residual: str, linear: str) -> str:
        """BERT's ``…output``: the dense projection, its bias, the residual and the LayerNorm, as one
        MatMul and one ``SkipLayerNormalization``."""
        dense = f"{p}{block}.dense"
        return self.node(
            "SkipLayerNormalization",
            [
                self.matmul(inputs, dense, linear),
                residual,
                self.constant(f"{p}{block}.gamma", self.w[f"{p}{block}.LayerNorm.weight"]),
                self.constant(f"{p}{block}.beta", self.w[f"{p}{block}.LayerNorm.bias"]),
                self.constant(f"{dense}.bias", self.w[f"{dense}.bias"]),
            ],
            f"{p}{block}.normed",
            domain=MS_DOMAIN,
            epsilon=self.eps,
        )

    def layer(self, i: int, x: str, mask: str) -> str:
        """Encoder layer ``i`` on hidden states ``x``."""
        p, torch_name = f"encoder.layer.{i}.", f"{ENCODER_PREFIX}{i}."
        qkv = f"{p}attention.self.qkv"
        # query, key and value share one scale (``_shared_scales``): the query's stands for the three
        inputs, weight = self.smoothed(x, qkv, f"{torch_name}attention.self.query")
        bias = self.constant(f"{qkv}.bias", self.w[f"{qkv}.bias"])
        attended = self.node(
            "Attention",
            [inputs, self.constant(f"{qkv}.weight", weight), bias, mask],
            f"{p}attended",
            domain=MS_DOMAIN,
            num_heads=self.heads,
        )
        x = self.dense_and_norm(p, "attention.output", attended, x, f"{torch_name}attention.output.dense")
        h = f"{p}intermediate.dense"
        projected = self.matmul(x, h, f"{torch_name}intermediate.dense")
        bias = self.constant(f"{h}.bias", self.w[f"{h}.bias"])
        gelu = self.node("BiasGelu", [projected, bias], f"{p}gelu", domain=MS_DOMAIN)
        return self.dense_and_norm(p, "output", gelu, x, f"{torch_name}output.dense")


def build_graph(network: NumpyClassifier, manifest: Manifest, scales: dict[str, np.ndarray]):
    """The encoder graph of ``network`` in floating point, its int8 form's smoothing applied: inputs
    ``embeddings`` (``[batch, width, hidden]``, the word, position and type embeddings summed) and
    ``attention_mask``; one output ``hidden.N`` of the hidden states after each layer N the heads
    read. Also the names of the MatMuls the int8 form keeps in floating point."""
    from onnx import TensorProto, helper

    spec = manifest.int8
    g = _Graph(network, scales, set(spec.float_linears if spec else []))
    gamma = g.constant("embeddings.gamma", network.w["embeddings.LayerNorm.weight"])
    beta = g.constant("embeddings.beta", network.w["embeddings.LayerNorm.bias"])
    x = g.node("LayerNormalization", ["embeddings", gamma, beta], "embedded", axis=-1, epsilon=network.eps)
    mask = g.node("Cast", ["attention_mask"], "mask", to=TensorProto.INT32)
    wanted = {network.layers, network.kinds_layer or network.layers}
    outputs = [g.node("Identity", [x], "hidden.0")] if 0 in wanted else []  # a 0-layer student's
    for i in range(network.layers):
        x = g.layer(i, x, mask)
        if i + 1 in wanted:
            outputs.append(g.node("Identity", [x], f"hidden.{i + 1}"))
    hidden = network.w["head.weight"].shape[0]
    graph = helper.make_graph(
        g.nodes,
        "clickbait-encoder",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "width", hidden]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "width"]),
        ],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        g.initialisers,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS_DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets), g.float_matmuls


def graph_key(model_dir: Path, manifest: Manifest, full_range: bool) -> str:
    """What the int8 graph is built from: the artifact's encoder files and shape, its base, this builder
    and the runtime (not its heads, which run outside the graph: a routed model and its fallback
    usually share one graph)."""
    import onnxruntime

    digest = hashlib.sha256()
    spec = manifest.int8
    files = [ADAPTER_FILE, ENCODER_FILE, spec.scales_file if spec else ""]
    for name in files:
        path = model_dir / name
        if name and path.is_file():
            digest.update(name.encode() + path.read_bytes())
    shape = manifest.model_dump_json(include={"base", "method", "layers", "lora", "kinds_layer"})
    parts = [shape, spec.float_linears if spec else [], GRAPH_VERSION]
    digest.update(json.dumps([*parts, onnxruntime.__version__, full_range]).encode())
    return digest.hexdigest()[:24]


def quantised_graph(
    model_dir: Path, manifest: Manifest, cache_dir: Path, full_range: bool | None = None
) -> Path:
    """The artifact's int8 encoder graph, built and quantised on first use and kept in ``cache_dir``;
    ``full_range``: 8-bit weights whatever this CPU offers (the browser's build, the same on every
    machine); None: as this CPU runs them best (``has_vnni``)."""
    from onnx import TensorProto, save
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.numpy import load_file

    spec = manifest.int8
    if spec is None:
        raise ArtifactError(f"{model_dir} has no int8 form: run `clickbait quantize` on it first")
    full_range = has_vnni() if full_range is None else full_range
    path = cache_dir / "onnx" / f"{graph_key(model_dir, manifest, full_range)}.onnx"
    if path.is_file():
        return path
    log.info("building the int8 ONNX graph of %s (once; kept in %s)", model_dir, path.parent)
    network, _, _ = load_numpy_network(model_dir)
    scales = _shared_scales(load_file(str(model_dir / spec.scales_file)), network.layers, model_dir)
    graph, float_matmuls = build_graph(network, manifest, scales)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the quantiser reports each tensor on the root logger: a first `clickbait score` would print dozens
    with tempfile.TemporaryDirectory(dir=path.parent) as work, _quiet_root_logger():
        floating, quantised = Path(work) / "fp32.onnx", Path(work) / "int8.onnx"
        save(graph, floating)
        quantize_dynamic(
            floating,
            quantised,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=not full_range,
            nodes_to_exclude=float_matmuls,
            # the fused operators' outputs have no inferred type; every tensor here is fp32
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
        )
        os.replace(quantised, path)  # atomic: a concurrent loader sees the whole file or none
    return path


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _shared_scales(scales: dict[str, np.ndarray], layers: int, model_dir: Path) -> dict[str, np.ndarray]:
    """The smoothing scales, checked that each layer's query, key and value share theirs: the fused
    ``Attention`` operator reads one input for the three (artifacts quantised before the scales were
    shared have three, and run on the torch engines)."""
    for i in range(layers):
        query, *others = (f"{ENCODER_PREFIX}{i}.attention.self.{n}" for n in ("query", "key", "value"))
        if query in scales and not all(np.array_equal(scales[query], scales[o]) for o in others):
            raise ArtifactError(f"{model_dir}: its int8 form smooths query, key and value apart; use int8")
    return scales


class OnnxClassifier(NumpyClassifier):
    """``NumpyClassifier`` whose encoder layers run as the int8 graph in ONNX Runtime: the ``onnx``
    engine's ``classifier.backend.Backend``."""

    engine = "onnx"

    session: onnxruntime.InferenceSession
    read: list[int]  # the layers after which the graph gives the hidden states

    @classmethod
    def with_graph(
        cls, base: Path, model_dir: Path, manifest: Manifest, graph: Path, threads: int
    ) -> OnnxClassifier:
        import onnxruntime

        network = cls.load(base, model_dir, manifest, encoder=False)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # 0: the runtime's default, one per core
        options.inter_op_num_threads = 1
        network.session = onnxruntime.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        network.read = [int(o.name.split(".")[1]) for o in network.session.get_outputs()]
        return network

    def _pooled(self, input_ids: np.ndarray, attention_mask: np.ndarray, *after: int) -> list[np.ndarray]:
        missing = set(after) - set(self.read)
        if missing:
            raise ValueError(
                f"the onnx engine reads layers {self.read}, not {sorted(missing)}: use numpy or fp32"
            )
        states = self.session.run(
            [f"hidden.{layer}" for layer in after],
            {
                "embeddings": self.summed(input_ids).astype(np.float32, copy=False),
                "attention_mask": attention_mask.astype(np.int64, copy=False),
            },
        )
        return [mean_pooled(state, attention_mask) for state in states]


def load_onnx_network(
    model_dir: Path, cache_dir: Path, threads: int
) -> tuple[OnnxClassifier, Manifest, ResolvedBase]:
    """An artifact's network on the onnx engine, with its manifest as the int8 form calibrates it."""
    from classifier.artifact import checked_base, int8_calibrated, read_manifest

    manifest = read_manifest(model_dir)
    base = checked_base(model_dir, manifest)
    graph = quantised_graph(model_dir, manifest, cache_dir)
    network = OnnxClassifier.with_graph(base.path, model_dir, manifest, graph, threads)
    return network, int8_calibrated(manifest), base
