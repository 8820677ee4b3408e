"""The engines behind one protocol: what computes a model's logits, and which one a load picks.

Each engine is a ``Backend``: a network in one numeric form that turns padded token ids into the
heads' raw logits and pooled embeddings, as numpy. ``Scorer`` owns everything around it
(tokenising, batching, calibration, routing) and never asks which engine it holds.

| engine | module | needs |
| --- | --- | --- |
| ``onnx`` | ``classifier.onnx_int8``: the int8 form in ONNX Runtime | onnxruntime, onnx |
| ``int8`` | ``classifier.engine``: the int8 form in torch | torch |
| ``fp32`` | ``classifier.torch_backend``: the network as trained | torch |
| ``numpy`` | ``classifier.numpy_bert``: fp32 in numpy | nothing more |

``auto`` picks, among those installed, the first whose held-out check passed (``Manifest.int8``:
the int8 form's, and its ``onnx`` record for ONNX Runtime's run of it): ``onnx``, which keeps torch
out of the process, then ``int8``, then ``fp32``; see ``choose_engine``.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from classifier.artifact import Manifest
from classifier.base import ResolvedBase
from classifier.cpu import has_vnni
from classifier.extras import DISTRIBUTION, MissingExtra, install_line
from classifier.settings import ClassifierSettings

log = logging.getLogger(__name__)


@runtime_checkable
class Backend(Protocol):
    """A network in one engine. Ids and masks are ``[batch, width]`` int64 arrays."""

    engine: str  # its name, as ``CLICKBAIT_ENGINE`` spells it

    def outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """``[batch, 1 + kinds]`` raw logits: the teaser head's, then each kind head's."""
        ...

    def embed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, layer: int | None = None
    ) -> np.ndarray:
        """``[batch, hidden]``: the mean of the hidden states after ``layer`` layers (None: the last)."""
        ...

    def share_table(self, other: Backend) -> None:
        """Hold the word-embedding table once where ``other`` (a routed model's fallback) holds it alike."""
        ...


def installed(engine: str) -> bool:
    """Whether the packages ``engine`` runs on are installed (a lean install has no torch)."""
    needs = {"onnx": ("onnxruntime", "onnx"), "int8": ("torch",), "fp32": ("torch",), "numpy": ()}[engine]
    return all(importlib.util.find_spec(name) is not None for name in needs)


def choose_engine(manifest: Manifest, wanted: str) -> str:
    """``auto`` → ``onnx`` where ONNX Runtime's run of the int8 form passed its held-out check, else
    ``int8`` where torch's did (with the activation precision that check measured: 8-bit activations
    need VNNI), else ``fp32``; each only if installed, and ``numpy`` where torch is not."""
    if wanted != "auto":
        return wanted
    spec = manifest.int8
    candidates = []
    if spec is not None and spec.onnx is not None and spec.onnx.safe:
        candidates.append("onnx")
    if spec is not None and spec.safe and (has_vnni() or not spec.full_range):
        candidates.append("int8")
    return next((e for e in [*candidates, "fp32"] if installed(e)), "numpy")


def load_backend(
    model_dir: Path, settings: ClassifierSettings, trainable: bool = False
) -> tuple[Backend, Manifest, ResolvedBase]:
    """The artifact's network in the engine ``settings`` name (``auto``: ``choose_engine``), and its
    manifest as that engine calibrates it. ``trainable``: torch's fp32 on transformers' encoder."""
    from classifier.artifact import read_manifest

    if trainable:
        from classifier.torch_backend import load_torch

        return load_torch(model_dir, "fp32", trainable=True)
    engine = choose_engine(read_manifest(model_dir), settings.engine)
    if not installed(engine):
        how = install_line("train") if engine in ("int8", "fp32") else f"pip install '{DISTRIBUTION}'"
        raise MissingExtra(f"the {engine} engine is not installed here: {how}")
    log.info("engine %s for %s", engine, model_dir)
    if engine == "onnx":
        from classifier.onnx_int8 import load_onnx_network

        return load_onnx_network(model_dir, settings.cache_dir, settings.threads)
    if engine == "numpy":
        from classifier.numpy_bert import load_numpy_network

        if settings.threads:  # numpy's matrix products run on its BLAS's own threads
            from threadpoolctl import threadpool_limits

            threadpool_limits(settings.threads, user_api="blas")
        return load_numpy_network(model_dir)
    from classifier.torch_backend import load_torch

    if settings.threads:
        import torch

        torch.set_num_threads(settings.threads)
    return load_torch(model_dir, engine)
