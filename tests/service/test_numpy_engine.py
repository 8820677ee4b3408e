"""The numpy engine: the fp32 engine's logits without torch, and a server that never imports it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import erf

from classifier.numpy_bert import gelu
from classifier.scorer import Scorer
from classifier.settings import get_settings
from tests.support.data import CLICKBAIT, NEWS
from tests.support.models import TRIGGER

LONG = "Parliament " + "approves the long awaited budget after a debate " * 8  # past the token cap


def _engines(model: str | Path) -> tuple[Scorer, Scorer]:
    settings = get_settings()
    return tuple(Scorer.load(model, settings.model_copy(update={"engine": e})) for e in ("numpy", "fp32"))


def _numpy(model: str | Path) -> Scorer:
    return Scorer.load(model, get_settings().model_copy(update={"engine": "numpy"}))


def test_gelu_is_berts_exact_one() -> None:
    x = np.linspace(-12, 12, 200_001, dtype=np.float32)
    expected = 0.5 * x.astype(np.float64) * (1 + erf(x.astype(np.float64) / np.sqrt(2)))
    np.testing.assert_allclose(gelu(x.copy()), expected, atol=1e-6)


def test_the_numpy_engine_gives_the_fp32_logits_of_the_default_model(default_fp32: Scorer) -> None:
    ours, fp32 = _numpy("default"), default_fp32
    texts = NEWS + CLICKBAIT + [LONG, "ok"]
    np.testing.assert_allclose(ours.logits(texts, batch_size=4), fp32.logits(texts), atol=1e-4)
    np.testing.assert_allclose(ours.embeddings(texts), fp32.embeddings(texts), atol=1e-4)
    assert ours.engine == "numpy" and ours.threshold == fp32.threshold  # the fp32 calibration
    assert [p.label for p in ours.score(texts)] == [p.label for p in fp32.score(texts)]


def test_a_full_model_with_a_dense_table_scores_alike(known_model: Path) -> None:
    ours, fp32 = _engines(known_model)
    texts = [f"a headline with {TRIGGER} in it", "a plain headline", TRIGGER]
    np.testing.assert_allclose(ours.logits(texts), fp32.logits(texts), atol=1e-4)


def test_the_threads_setting_limits_the_numpy_engines_blas() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas_threads()
    try:
        Scorer.load("default", get_settings().model_copy(update={"engine": "numpy", "threads": 1}))
        assert blas_threads() and set(blas_threads()) == {1}
    finally:
        threadpool_limits(max(before), user_api="blas")
