"""Fast calibrated scoring: headlines in, clickbait probabilities and labels out."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from classifier.artifact import Manifest, load_network
from classifier.base import load_tokenizer
from classifier.engine import build_engine
from classifier.network import HeadlineClassifier
from classifier.settings import ClassifierSettings, get_settings
from classifier.text import QUERY_PREFIX, normalise_headline
from classifier.tokenizer import HeadlineTokenizer

DEFAULT_MODEL = "default"


def default_model_dir() -> Path:
    """The artifact shipped inside the package."""
    return Path(str(files("classifier") / "default_model"))


def resolve_model_dir(model: str | Path) -> Path:
    return default_model_dir() if str(model) == DEFAULT_MODEL else Path(model)


def calibrated(logits: np.ndarray, temperature: float) -> np.ndarray:
    """P(clickbait) = sigmoid(logit / temperature)."""
    return 1.0 / (1.0 + np.exp(-logits / temperature))


def _one_core() -> None:
    """Limits a lane thread to one intra-op thread. torch first sets up its per-thread count (asked
    for the first time, it would later reset a limit set before), then the thread's OpenMP limit,
    which torch's kernels, oneDNN and MKL follow, is lowered to 1 through threadpoolctl:
    ``torch.set_num_threads(1)`` would also lower the process-wide count that new threads start from."""
    torch.get_num_threads()
    threadpool_limits(1, user_api="openmp")


@lru_cache(maxsize=None)
def lane_pool(lanes: int) -> ThreadPoolExecutor:
    """The threads that score batches side by side, one core each; shared by every scorer of the
    process, so that concurrent calls (or a model being swapped in) never run more lanes than asked."""
    return ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="lane", initializer=_one_core)


@dataclass(frozen=True)
class Prediction:
    headline: str
    score: float
    label: str


class Scorer:
    """A loaded model; thread-safe for concurrent ``score`` calls (inference only)."""

    def __init__(
        self,
        network: HeadlineClassifier,
        tokenizer: HeadlineTokenizer,
        manifest: Manifest,
        settings: ClassifierSettings | None = None,
        engine: str = "fp32",
    ) -> None:
        self.network = network.eval()
        self.engine = engine
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.settings = settings or get_settings()
        self.device = next(network.parameters()).device
        if self.settings.threads:
            torch.set_num_threads(self.settings.threads)
        self.lanes = 1 if self.device.type != "cpu" else self.settings.parallel_batches or torch.get_num_threads()

    @classmethod
    def load(
        cls, model: str | Path = DEFAULT_MODEL, settings: ClassifierSettings | None = None, trainable: bool = False
    ) -> Scorer:
        """``trainable``: on transformers' encoder, for a network to train further (``load_network``)."""
        settings = settings or get_settings()
        model_dir = resolve_model_dir(model)
        network, manifest, base = load_network(model_dir, trainable=trainable)
        network, manifest, engine = build_engine(network, manifest, model_dir, settings.engine)
        return cls(network, load_tokenizer(base.path), manifest, settings, engine)

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def threshold(self) -> float:
        return self.manifest.threshold

    def logits(self, headlines: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Raw logits in input order.

        Batches are formed from length-sorted inputs to cut padding. On the CPU the sorted inputs
        are dealt in turn to ``lanes`` threads that score their batches side by side, each on one
        core: at headline sizes a matrix product split over two cores gains far less than 2× (the
        threads meet after every operation, and the Python between operations runs on one), so two
        batches on one core each beat them one after the other on two (README, Performance:
        ``benchmarks/throughput.py --one-batch-at-a-time``). Dealing in turn gives every lane the
        same mix of lengths.
        """
        out = np.empty(len(headlines), dtype=np.float32)
        if not headlines:
            return out
        encoded = self.tokenizer.encode(
            [QUERY_PREFIX + normalise_headline(h) for h in headlines], self.manifest.max_length
        )
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        size, lanes = batch_size or self.settings.batch_size, min(self.lanes, len(order))
        if lanes == 1:
            self._score_sorted(encoded, order, size, out)
            return out
        pool = lane_pool(self.lanes)
        for done in [pool.submit(self._score_sorted, encoded, order[lane::lanes], size, out) for lane in range(lanes)]:
            done.result()
        return out

    def probabilities(self, headlines: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Calibrated P(clickbait): sigmoid(logit / temperature)."""
        return calibrated(self.logits(headlines, batch_size), self.manifest.temperature)

    def label(self, probability: float, threshold: float | None = None) -> str:
        """The model's label for one probability, at its own threshold unless told another."""
        news, clickbait = self.manifest.labels
        return clickbait if probability >= (self.threshold if threshold is None else threshold) else news

    def score(self, headlines: Sequence[str], threshold: float | None = None) -> list[Prediction]:
        probs = self.probabilities(headlines)
        return [Prediction(h, float(p), self.label(p, threshold)) for h, p in zip(headlines, probs, strict=True)]

    def _score_sorted(self, encoded: list[list[int]], order: np.ndarray, batch_size: int, out: np.ndarray) -> None:
        """Scores the inputs at ``order`` (shortest first) a batch at a time, writing ``out`` there."""
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            input_ids, mask = self.tokenizer.pad([encoded[i] for i in indices])
            with torch.inference_mode():  # per thread: entered in the lane that computes
                out[indices] = self.network(input_ids.to(self.device), mask.to(self.device)).float().cpu().numpy()
