"""The int8 engine: close to fp32, chosen only where the artifact's own check allowed it."""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest
import torch

from classifier.artifact import BaseRef, Int8Spec, Manifest, RuntimeCheck
from classifier.backend import choose_engine, installed
from classifier.base import load_encoder, load_inference_encoder, load_tokenizer, resolve_base
from classifier.bert import PaddedLayout
from classifier.engine import (
    Bf16Linear,
    activation_maxima,
    has_vnni,
    smoothed_names,
    smoothing_scales,
    to_int8,
)
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from classifier.torch_backend import TorchBackend
from tests.support.data import CLICKBAIT, NEWS


def _manifest(int8: Int8Spec | None = None) -> Manifest:
    return Manifest(version="t", base=BaseRef(name="b", sha256="0"), method="full", int8=int8)


def test_auto_uses_int8_only_where_the_held_out_check_passed() -> None:
    spec = {"alpha": 0.8, "temperature": 1.0, "threshold": 0.5, "max_drop": 0.005}
    assert choose_engine(_manifest(), "auto") == "fp32"
    assert choose_engine(_manifest(Int8Spec(safe=False, **spec)), "auto") == "fp32"
    assert choose_engine(_manifest(Int8Spec(safe=True, **spec)), "auto") == "int8"
    assert choose_engine(_manifest(Int8Spec(safe=True, **spec)), "fp32") == "fp32"
    measured_with_vnni = _manifest(Int8Spec(safe=True, full_range=True, **spec))
    assert choose_engine(measured_with_vnni, "auto") == ("int8" if has_vnni() else "fp32")


def test_auto_uses_onnx_runtime_only_where_its_own_check_passed() -> None:
    spec = {"alpha": 0.8, "temperature": 1.0, "threshold": 0.5, "max_drop": 0.005}
    check = {"runtime": "1", "splits": {"validation/en": 0.9}, "logit_rmse": 0.1}
    passed = _manifest(Int8Spec(safe=True, onnx=RuntimeCheck(safe=True, **check), **spec))
    failed = _manifest(Int8Spec(safe=True, onnx=RuntimeCheck(safe=False, **check), **spec))
    assert installed("onnx") and choose_engine(passed, "auto") == "onnx"
    assert choose_engine(failed, "auto") == "int8"
    assert choose_engine(passed, "int8") == "int8"


def _tiny_scorer(tiny_base, lean: bool) -> Scorer:
    """The tiny BERT with a random head, on transformers' encoder or the lean one."""
    base = resolve_base(str(tiny_base))
    torch.manual_seed(0)
    network = HeadlineClassifier((load_inference_encoder if lean else load_encoder)(base.path)).eval()
    return Scorer(
        TorchBackend(network),
        load_tokenizer(base.path),
        Manifest(version="t", base=BaseRef(name=base.name, sha256=base.sha256), method="full"),
    )


def test_smoothing_is_exact_before_rounding_and_int8_stays_close(tiny_base) -> None:
    scorer = _tiny_scorer(tiny_base, lean=False)
    network, texts = scorer.network, NEWS + CLICKBAIT
    fp32 = scorer.logits(texts)
    maxima = activation_maxima(network, lambda: scorer.logits(texts))
    assert (
        set(maxima) == set(smoothed_names(network)) and len(maxima) == 2 * 6
    )  # 2 layers × q, k, v, o, in, out
    scales = smoothing_scales(network, maxima, alpha=0.8)
    quantised = Scorer(
        TorchBackend(to_int8(network, scales, full_range=has_vnni()), "int8"),
        scorer.tokenizer,
        scorer.manifest,
    )
    assert network.encoder.embeddings.word_embeddings.weight.dtype == torch.float16
    np.testing.assert_allclose(quantised.logits(texts), fp32, atol=0.05 * np.abs(fp32).max() + 1e-3)


def test_query_key_and_value_share_a_scale_and_become_one_int8_linear(tiny_base) -> None:
    scorer, texts = _tiny_scorer(tiny_base, lean=True), NEWS + CLICKBAIT
    fp32 = scorer.logits(texts)
    scales = smoothing_scales(
        scorer.network, activation_maxima(scorer.network, lambda: scorer.logits(texts)), 0.8
    )
    first, second = "encoder.encoder.layer.0.attention", "encoder.encoder.layer.1.attention"
    assert torch.equal(scales[f"{first}.self.query"], scales[f"{first}.self.value"])
    assert not torch.equal(scales[f"{first}.self.query"], scales[f"{first}.output.dense"])
    older = {
        **scales,
        f"{first}.self.key": scales[f"{first}.self.key"] * 1.1,
    }  # quantised before scales were shared
    for given, fused in ((scales, {first, second}), (older, {second})):
        network = to_int8(copy.deepcopy(scorer.network), given, full_range=has_vnni())
        assert {name for name in (first, second) if "qkv" in network.get_submodule(name)} == fused
        quantised = Scorer(TorchBackend(network, "int8"), scorer.tokenizer, scorer.manifest)
        np.testing.assert_allclose(quantised.logits(texts), fp32, atol=0.05 * np.abs(fp32).max() + 1e-3)


def test_int8_scores_do_not_depend_on_the_top_up_rows(tiny_base, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies of real tokens widen no int8 input's range, so no score moves (``PaddedLayout``) — not
    even where padding, had it been computed, would bring outliers."""
    scorer, texts = _tiny_scorer(tiny_base, lean=True), NEWS + CLICKBAIT
    padding = scorer.network.encoder.embeddings.word_embeddings.weight[scorer.tokenizer.pad_id]
    padding.zero_()[0] = 1000  # one channel: an outlier that survives the embeddings' LayerNorm
    scales = smoothing_scales(
        scorer.network, activation_maxima(scorer.network, lambda: scorer.logits(texts)), 0.8
    )
    network = to_int8(
        scorer.network,
        scales,
        full_range=has_vnni(),
        keep_bf16=True,
        keep=["encoder.encoder.layer.0.output.dense"],
    )
    quantised = Scorer(TorchBackend(network, "int8"), scorer.tokenizer, scorer.manifest)
    counts = {}
    for rows in (1, 64):
        monkeypatch.setattr(PaddedLayout, "ROWS", rows)
        counts[rows] = quantised.logits(texts)
    np.testing.assert_array_equal(counts[64], counts[1])


def test_a_bf16_linear_stays_within_bf16_rounding_of_fp32() -> None:
    torch.manual_seed(0)
    linear, x = torch.nn.Linear(96, 24), torch.randn(5, 7, 96)
    with torch.inference_mode():
        expected, got = linear(x), Bf16Linear(linear)(x)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=0.02 * expected.abs().max().item())
    assert not torch.equal(got, expected)  # it did compute in bf16


@pytest.mark.slow
def test_the_default_model_in_int8_stays_close_to_fp32() -> None:
    fp32 = Scorer.load("default", ClassifierSettings(engine="fp32"))
    texts = NEWS + CLICKBAIT
    reference, labels = fp32.probabilities(texts), [p.label for p in fp32.score(texts)]
    maxima = activation_maxima(fp32.network, lambda: fp32.logits(texts))
    network = to_int8(fp32.network, smoothing_scales(fp32.network, maxima, 0.8), full_range=has_vnni())
    fast = Scorer(TorchBackend(network, "int8"), fp32.tokenizer, fp32.manifest)
    assert np.abs(fast.probabilities(texts) - reference).max() < 0.05
    assert [p.label for p in fast.score(texts)] == labels


@pytest.mark.parametrize("engine", ["fp32", "int8"])
@pytest.mark.slow
def test_a_loaded_model_keeps_no_view_of_the_base_file(engine: str) -> None:
    """Loading reads the memory-mapped base files; a view left open would keep their pages (384 MB
    for the fp32 table) in the process's resident memory. The bundled base's table is kept in 4 bits."""
    probe = (
        "from pathlib import Path\n"
        "from classifier.scorer import Scorer\n"
        "from classifier.settings import ClassifierSettings\n"
        f"scorer = Scorer.load('default', ClassifierSettings(engine='{engine}'))\n"
        "assert type(scorer.network.encoder.embeddings.word_embeddings).__name__ == 'Q4Embedding'\n"
        "maps = Path('/proc/self/maps').read_text().splitlines()\n"
        "print(sum('.safetensors' in line for line in maps))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0"
