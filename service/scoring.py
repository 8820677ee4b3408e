"""Scoring as the routes see it: the loaded model, the score cache and the micro-batcher together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np
from cachetools import LRUCache

from classifier.explain import contributions, occlusion_variants
from classifier.scorer import Scorer
from classifier.text import normalise_headline
from service.batcher import MicroBatcher
from service.metrics import ServiceMetrics
from service.settings import ServiceSettings

log = logging.getLogger(__name__)


class ModelNotReady(Exception):
    """No model is loaded (yet, or loading failed)."""


class ScoringService:
    """Owns the model slot; every request is scored by exactly one model version."""

    def __init__(self, settings: ServiceSettings, metrics: ServiceMetrics) -> None:
        self.settings, self.metrics = settings, metrics
        self.scorer: Scorer | None = None
        self.load_error: str | None = None
        self.cache: LRUCache | None = LRUCache(settings.cache_size) if settings.cache_size else None
        self.batcher = MicroBatcher(
            self._current, metrics, max_batch=settings.max_batch,
            max_wait_s=settings.batch_wait_ms / 1000, max_queued=settings.queue_size,
        )

    def _current(self) -> Scorer:
        if self.scorer is None:
            raise ModelNotReady(self.load_error or "the model is still loading")
        return self.scorer

    async def start(self) -> None:
        await self.batcher.start()

    async def load(self) -> None:
        """Load the configured model in a worker thread, so /health answers meanwhile."""
        try:
            scorer = await asyncio.to_thread(Scorer.load, self.settings.model, self.settings)
        except Exception as exc:  # reported by /ready; the process stays up to say why
            self.load_error = f"model {self.settings.model!r} failed to load: {exc}"
            log.error(self.load_error)
            return
        self.use(scorer)

    def use(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.metrics.model.info({"version": scorer.version, "base": scorer.manifest.base.name})
        log.info("serving model %s", scorer.version)

    async def stop(self) -> None:
        await self.batcher.stop()

    async def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, Scorer]:
        """P(clickbait) per text and the scorer that produced them; cached texts skip the model."""
        scorer = self._current()
        keys = [normalise_headline(t) for t in texts]
        probs = np.empty(len(keys), dtype=np.float64)
        missing: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            cached = self.cache.get((scorer.version, key)) if self.cache is not None else None
            if cached is None:
                missing.setdefault(key, []).append(i)
            else:
                probs[i] = cached
        self.metrics.cache_hits.inc(len(keys) - sum(len(v) for v in missing.values()))
        self.metrics.cache_misses.inc(sum(len(v) for v in missing.values()))
        if missing:
            fresh, used = await self.batcher.score(list(missing))
            if used.version != scorer.version:  # the model changed meanwhile: no mixed answers
                probs, scorer = await self.batcher.score(keys)
            else:
                for (key, where), p in zip(missing.items(), fresh, strict=True):
                    probs[where] = p
                    if self.cache is not None:
                        self.cache[(scorer.version, key)] = float(p)
        self.metrics.headlines.inc(len(keys))
        return probs, scorer

    async def explain(self, headline: str) -> list[dict]:
        words, variants = occlusion_variants(normalise_headline(headline))
        probs, _ = await self.probabilities(variants)
        return contributions(words, probs)
