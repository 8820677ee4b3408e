"""The onnx engine: the int8 form in ONNX Runtime, close to fp32, per-language calibration and
routing as the other engines have them (the lean install it makes possible: tests/service/
test_lean_install.py)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from classifier.artifact import FALLBACK_DIR, HEAD_FILE, Routing, read_manifest, write_manifest
from classifier.onnx_int8 import quantised_graph
from classifier.scorer import Scorer, default_model_dir
from classifier.settings import get_settings
from tests.support.data import CLICKBAIT, NEWS

LONG = "Parliament " + "approves the long awaited budget after a debate " * 8  # past the token cap


def _engine(engine: str):
    return get_settings().model_copy(update={"engine": engine})


def test_the_default_model_on_onnx_stays_close_to_fp32_with_the_int8_calibration(default_fp32) -> None:
    onnx, fp32 = Scorer.load("default", _engine("onnx")), default_fp32
    texts = NEWS + CLICKBAIT + [LONG, "ok"]
    spec = read_manifest(default_model_dir()).int8
    assert onnx.engine == "onnx" and onnx.threshold == spec.threshold != fp32.threshold
    assert onnx.manifest.temperature == spec.temperature
    np.testing.assert_allclose(onnx.outputs(texts, batch_size=4), fp32.outputs(texts), atol=0.35)
    assert np.abs(onnx.probabilities(texts) - fp32.probabilities(texts)).max() < 0.05
    assert [p.label for p in onnx.score(texts)] == [p.label for p in fp32.score(texts)]
    kinds_layer = onnx.manifest.kinds_layer
    np.testing.assert_allclose(
        onnx.embeddings(texts, layer=kinds_layer), fp32.embeddings(texts, layer=kinds_layer), atol=0.05
    )
    with pytest.raises(ValueError, match="onnx engine reads layers"):
        onnx.embeddings(texts, layer=3)  # the graph gives only the layers the heads read


def test_the_graph_is_built_once_per_artifact_and_shared_by_a_routed_model(tmp_path) -> None:
    """A retrain's routed shape on the onnx engine: the fallback's head differs, its graph does not,
    so both networks run the one cached graph; each still scores with its own head."""
    routed, fallback = tmp_path / "routed", tmp_path / "routed" / FALLBACK_DIR
    shutil.copytree(default_model_dir(), routed)
    shutil.copytree(default_model_dir(), fallback)
    head = load_file(str(fallback / HEAD_FILE))
    save_file({**head, "bias": head["bias"] + 1.5}, str(fallback / HEAD_FILE))
    mine = read_manifest(routed)
    write_manifest(
        routed, mine.model_copy(update={"routing": Routing(languages=["en"], fallback_version="x")})
    )
    settings = _engine("onnx")
    graph = quantised_graph(routed, read_manifest(routed), settings.cache_dir)
    built = graph.stat().st_mtime_ns
    scorer = Scorer.load(routed, settings)
    assert scorer.engine == scorer.fallback.engine == "onnx"
    assert quantised_graph(fallback, read_manifest(fallback), settings.cache_dir) == graph
    assert graph.stat().st_mtime_ns == built  # found in the cache, not built again
    assert scorer.backend.w["q4.packed"] is scorer.fallback.backend.w["q4.packed"]  # one table
    texts, langs = NEWS[:2] + CLICKBAIT[:2], ["en", "en", "ro", "ro"]
    own = Scorer.load(default_model_dir(), settings)
    np.testing.assert_allclose(scorer.probabilities(texts[:2], langs=langs[:2]), own.probabilities(texts[:2]))
    handed = scorer.probabilities(texts[2:], langs=langs[2:])
    assert (handed > own.probabilities(texts[2:], langs=langs[2:])).all()  # the fallback's +1.5
