"""The ``Backend`` protocol's contract, run against every engine: what ``Scorer`` relies on and nothing
more (``classifier/backend.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.backend import Backend, load_backend
from classifier.base import load_tokenizer
from classifier.scorer import Scorer, default_model_dir
from classifier.settings import get_settings
from tests.support.data import CLICKBAIT, NEWS

ENGINES = ["fp32", "int8", "numpy", "onnx"]


@pytest.fixture(scope="module")
def backends() -> dict[str, tuple[Backend, object]]:
    settings = get_settings()
    return {
        engine: load_backend(default_model_dir(), settings.model_copy(update={"engine": engine}))
        for engine in ENGINES
    }


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_meets_the_backend_contract(engine: str, backends, default_fp32: Scorer) -> None:
    backend, manifest, base = backends[engine]
    assert isinstance(backend, Backend) and backend.engine == engine
    tokenizer = load_tokenizer(base.path)
    texts = NEWS[:3] + CLICKBAIT[:3]
    ids, mask = tokenizer.pad(tokenizer.encode(texts, manifest.max_length))
    outputs = backend.outputs(ids, mask)
    assert outputs.shape == (len(texts), 1 + len(manifest.kinds)) and outputs.dtype == np.float32
    pooled = backend.embed(ids, mask)
    assert pooled.shape == (len(texts), 384) and np.isfinite(pooled).all()
    layer = manifest.kinds_layer
    assert backend.embed(ids, mask, layer=layer).shape == pooled.shape
    # the same network in every engine: within the int8 forms' rounding of fp32's logits
    reference = default_fp32.backend.outputs(ids, mask)
    np.testing.assert_allclose(outputs, reference, atol=0.5 if engine in ("int8", "onnx") else 1e-3)
    # a routed model's two networks hold one table where theirs are equal: sharing is a no-op on values
    other, _, _ = load_backend(default_model_dir(), get_settings().model_copy(update={"engine": engine}))
    backend.share_table(other)
    np.testing.assert_array_equal(backend.outputs(ids, mask), outputs)
