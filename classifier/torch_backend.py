"""The torch engines (``fp32``, ``int8``) behind ``classifier.backend.Backend``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from classifier.artifact import Manifest, load_network
from classifier.base import ResolvedBase
from classifier.bundled import WORD_EMBEDDINGS
from classifier.engine import build_engine
from classifier.network import HeadlineClassifier


class TorchBackend:
    """A ``HeadlineClassifier`` in one numeric form; ``network`` is the module itself (training and
    quantisation work on it)."""

    def __init__(self, network: HeadlineClassifier, engine: str = "fp32") -> None:
        self.network = network.eval()
        self.engine = engine
        self.device = next(network.parameters()).device

    def _run(self, forward, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            ids, mask = (
                torch.from_numpy(input_ids).to(self.device),
                torch.from_numpy(attention_mask).to(self.device),
            )
            return forward(ids, mask).float().cpu().numpy()

    def outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self._run(self.network.outputs, input_ids, attention_mask).reshape(len(input_ids), -1)

    def embed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, layer: int | None = None
    ) -> np.ndarray:
        return self._run(lambda i, m: self.network.embed(i, m, layer=layer), input_ids, attention_mask)

    def share_table(self, other: TorchBackend) -> None:
        """Training freezes the base's word embeddings, so a routed model and its fallback usually hold
        the same table: it is kept once when the two are equal."""
        mine, theirs = (
            self.network.encoder.get_submodule(WORD_EMBEDDINGS),
            other.network.encoder.get_submodule(WORD_EMBEDDINGS),
        )
        a, b = mine.state_dict(), theirs.state_dict()
        if type(mine) is type(theirs) and a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a):
            self.network.encoder.set_submodule(WORD_EMBEDDINGS, theirs)


def load_torch(
    model_dir: Path, engine: str, trainable: bool = False
) -> tuple[TorchBackend, Manifest, ResolvedBase]:
    network, manifest, base = load_network(model_dir, trainable=trainable)
    network, manifest, chosen = build_engine(network, manifest, model_dir, engine)
    return TorchBackend(network, chosen), manifest, base
