"""The default model as the extension's build writes it (service/extension_model.py): what the browser
reads must be what the service computes with, and the pruned tokenizer must segment as the service's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from tokenizers import Tokenizer

from classifier.artifact import int8_calibrated, read_manifest
from classifier.scorer import Scorer, default_model_dir
from classifier.text import QUERY_PREFIX, normalise_headline
from service.extension_model import ExtensionBuildError, kept_pieces, model_folder, runtime_files

# The kind of text the kept pieces come from, and text they do not cover (Georgian, Tamil)
COVERED = [
    "Parliament approves the state budget after a long debate",
    "Guvernul a aprobat bugetul de stat pentru anul viitor",
    "Cum arată acum fosta prezentatoare TV",
    "Türkiye'de enflasyon beklentilerin altında kaldı",
]
UNCOVERED = ["საქართველოს პარლამენტმა ბიუჯეტი დაამტკიცა", "தமிழ்நாடு அரசு புதிய திட்டம் அறிவிப்பு"]


@pytest.fixture(scope="module")
def folder() -> Path:
    return model_folder()  # in the session's cache, beside the onnx engine's graph it starts from


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load("default", engine="onnx")


def test_model_json_is_the_int8_calibration_of_the_default_model(folder: Path, scorer: Scorer) -> None:
    config = json.loads((folder / "model.json").read_text())
    manifest = int8_calibrated(read_manifest(default_model_dir()))
    assert (config["threshold"], config["temperature"]) == (manifest.threshold, manifest.temperature)
    assert config["threshold"] == scorer.threshold
    assert set(config["languages"]) == set(manifest.languages)
    assert config["kinds"] == manifest.kinds and config["kinds_in_score"] == manifest.kinds_in_score
    weight = np.array(config["head"]["weight"], np.float32)
    assert np.array_equal(weight, scorer.backend.w["head.weight"])
    assert config["embeddings"]["rows"] == len(kept_pieces())


def test_embedding_rows_are_the_services_rows(folder: Path, scorer: Scorer) -> None:
    """The kept rows' 4-bit blocks, bit for bit, then the position and type rows."""
    kept = kept_pieces()
    rows, blocks = len(kept), 384 // 32
    data = (folder / "embeddings.bin").read_bytes()
    scales = np.frombuffer(data, np.float16, rows * blocks)
    packed = np.frombuffer(data, np.uint8, rows * blocks * 16, offset=scales.nbytes)
    w = scorer.backend.w
    assert np.array_equal(scales.reshape(rows, blocks), w["q4.scales"][kept])
    assert np.array_equal(packed.reshape(rows, blocks, 16), w["q4.packed"][kept])
    rest = np.frombuffer(data, np.float32, offset=scales.nbytes + packed.nbytes)
    assert np.array_equal(rest[-384:], w["embeddings.token_type_embeddings.weight"][0])


def test_pruned_tokenizer_segments_covered_text_as_the_service(folder: Path, scorer: Scorer) -> None:
    pruned = Tokenizer.from_file(str(folder / "tokenizer.json"))
    kept = kept_pieces()
    renumbered = dict(zip(kept.tolist(), range(len(kept)), strict=True))
    texts = [QUERY_PREFIX + normalise_headline(h) for h in COVERED + UNCOVERED]
    service = scorer.tokenizer.encode(texts, 1 << 30)
    browser = [e.ids for e in pruned.encode_batch(texts)]
    for ids, ours in zip(service[: len(COVERED)], browser, strict=False):
        assert ours == [renumbered[i] for i in ids]
    for ids, ours in zip(service[len(COVERED) :], browser[len(COVERED) :], strict=True):
        # pieces outside the kept set: other, shorter pieces, never the unknown token
        assert any(i not in renumbered for i in ids) and 3 not in ours


def test_graph_is_the_services_int8_graph_for_the_web_runtime(folder: Path) -> None:
    graph = onnx.load(str(folder / "encoder.onnx"))
    ops = {node.op_type for node in graph.graph.node}
    assert {"QAttention", "MatMulInteger", "DequantizeLinear"} <= ops
    # every constant weight is int8: no floating-point matrix left
    weights = [i for i in graph.graph.initializer if len(i.dims) == 2]
    assert weights and all(i.data_type == onnx.TensorProto.INT8 for i in weights)
    assert [o.name for o in graph.graph.output] == ["hidden.8", "hidden.12"]


def test_missing_runtime_names_the_npm_step(tmp_path: Path) -> None:
    with pytest.raises(ExtensionBuildError, match="npm ci"):
        runtime_files(tmp_path)
