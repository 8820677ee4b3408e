"""Scoring as the routes see it: the loaded model, the score cache and the micro-batcher together."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence

import numpy as np
from cachetools import LRUCache

from classifier.artifact import read_manifest
from classifier.errors import ClickbaitError, ErrorType
from classifier.explain import contributions, occlusion_variants, words_read
from classifier.language import language_code
from classifier.registry import ModelRegistry
from classifier.scorer import Scorer, resolve_model_dir
from classifier.text import normalise_headline
from service.runtime.batcher import MicroBatcher
from service.runtime.memory import return_freed_memory
from service.runtime.prometheus import ServiceMetrics
from service.runtime.suggestions import RecentScores
from service.settings import ServiceSettings
from service.store.headline_pool import HeadlinePool

log = logging.getLogger(__name__)


class ModelNotReady(ClickbaitError):
    """No model is loaded (yet, or loading failed)."""

    error_type, retry_after = ErrorType.not_ready, 5.0


class ScoringService:
    """Owns the model slot; every request is scored by exactly one model version.

    The slot follows the registry: an empty registry is seeded with the configured model, and a
    version promoted anywhere (this replica, another one, the CLI) is loaded in the background and
    swapped in whole; requests in flight finish on the version they started with.
    """

    def __init__(self, settings: ServiceSettings, metrics: ServiceMetrics) -> None:
        self.settings, self.metrics = settings, metrics
        self.registry = ModelRegistry(settings.registry_path)
        self.scorer: Scorer | None = None
        self.load_error: str | None = None
        self.recent = RecentScores(settings.suggestion_pool)
        self.pool: HeadlinePool | None = None  # set once the database is open; routes fill it
        self._failed_version: str | None = None
        self._swap_lock = asyncio.Lock()
        self.cache: LRUCache | None = LRUCache(settings.cache_size) if settings.cache_size else None
        self.batcher = MicroBatcher(
            self._current,
            metrics,
            max_batch=settings.max_batch,
            max_wait_s=settings.batch_wait_ms / 1000,
            max_queued=settings.queue_size,
        )

    def _current(self) -> Scorer:
        if self.scorer is None:
            raise ModelNotReady(self.load_error or "the model is still loading")
        return self.scorer

    async def start(self) -> None:
        await self.batcher.start()

    async def load(self) -> None:
        """Load the registry's current model in a worker thread (so /health answers meanwhile),
        then follow the registry for as long as the service runs."""
        if not await self._load_first():
            return
        while True:
            await asyncio.sleep(self.settings.registry_poll_s)
            await self.refresh()

    async def _load_first(self) -> bool:
        """The first model into the slot; a method of its own so that no frame that lives as long as
        the service (``load``'s) keeps a reference to it after it is replaced."""
        seed = resolve_model_dir(self.settings.model)
        try:
            version = await asyncio.to_thread(self.registry.seed, seed)
            scorer = await asyncio.to_thread(Scorer.load, self.registry.path(version), self.settings)
            if version != read_manifest(seed).version:
                log.warning(
                    "the registry %s serves %s; the configured model %s only seeds an empty registry "
                    "(promote it to serve it)",
                    self.registry.root,
                    version,
                    seed,
                )
        except Exception as exc:  # noqa: BLE001 - reported by /ready; the process stays up to say why
            self.load_error = f"model {self.settings.model!r} failed to load: {exc}"
            log.error(self.load_error)
            return False
        self.use(scorer)
        return True

    async def refresh(self) -> None:
        """Swap to the registry's current version if it changed; a version that fails to load is
        reported once and the last good one keeps serving."""
        async with self._swap_lock:
            try:
                version = await asyncio.to_thread(self.registry.current)
            except Exception as exc:  # noqa: BLE001 - an unreadable state must not stop the watcher
                log.error("cannot read the model registry: %s", exc)
                return
            serving = self.scorer.version if self.scorer else None
            if version is None or version in (serving, self._failed_version):
                return
            try:
                scorer = await asyncio.to_thread(Scorer.load, self.registry.path(version), self.settings)
            except Exception as exc:  # noqa: BLE001 - the last good version keeps serving
                self._failed_version = version
                log.error("version %s failed to load, still serving %s: %s", version, serving, exc)
                return
            replaced = self.scorer
            self.use(scorer)
            if replaced is not None:  # freed once its last batch and request let go of it
                weakref.finalize(replaced, return_freed_memory)

    def use(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.metrics.model.info({"version": scorer.version, "base": scorer.manifest.base.name})
        log.info("serving model %s", scorer.version)

    async def stop(self) -> None:
        await self.batcher.stop()

    async def probabilities(self, texts: Sequence[str], lang: str | None = None) -> tuple[np.ndarray, Scorer]:
        """P(clickbait) per text and the scorer that produced them (``scores``' first column)."""
        rows, scorer = await self.scores(texts, lang)
        return rows[:, 0], scorer

    async def scores(self, texts: Sequence[str], lang: str | None = None) -> tuple[np.ndarray, Scorer]:
        """``Scorer.scores`` rows (P(clickbait), then each kind's) per text and the scorer that
        produced them, in the caller's ``lang`` where given (else each text's detected one); cached
        texts skip the model."""
        lang = language_code(lang) if lang else None  # "RO" and "ro" share cache entries
        scorer = self._current()
        keys = [normalise_headline(t) for t in texts]
        rows = np.empty((len(keys), 1 + len(scorer.kinds)), dtype=np.float64)
        missing: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            cached = self.cache.get((scorer.version, key, lang)) if self.cache is not None else None
            if cached is None:
                missing.setdefault(key, []).append(i)
            else:
                rows[i] = cached
        self.metrics.cache_hits.inc(len(keys) - sum(len(v) for v in missing.values()))
        self.metrics.cache_misses.inc(sum(len(v) for v in missing.values()))
        if missing:
            fresh, used = await self._in_pieces(list(missing), lang)
            if used.version != scorer.version:  # the model changed meanwhile: no mixed answers
                rows, scorer = await self._in_pieces(keys, lang)
            else:
                for (key, where), row in zip(missing.items(), fresh, strict=True):
                    rows[where] = row
                    if self.cache is not None:
                        self.cache[(scorer.version, key, lang)] = tuple(float(x) for x in row)
        self.metrics.headlines.inc(len(keys))
        return rows, scorer

    async def _in_pieces(self, texts: list[str], lang: str | None) -> tuple[np.ndarray, Scorer]:
        """The batcher's rows for ``texts``, handed over one piece of at most ``max_batch`` at a time:
        another request's headlines wait for one model call of this one, not for all of it."""
        step = self.batcher.max_batch
        parts, used = [], None
        for start in range(0, len(texts), step):
            part, scorer = await self.batcher.score(texts[start : start + step], lang)
            if used is not None and scorer.version != used.version:  # a swap mid-way: start again
                return await self.batcher.score(texts, lang)
            parts.append(part)
            used = scorer
        return np.concatenate(parts), used

    @staticmethod
    async def languages(
        scorer: Scorer, texts: Sequence[str], lang: str | None = None
    ) -> list[tuple[str, bool]]:
        """(language, validated) of each text as ``scorer`` scores it (``Scorer.languages``: the
        caller's ``lang``, else the settings', else detected), found in a worker thread: detection,
        and the first time the loading of its tables, never holds up the event loop. Texts the batcher
        has just scored are not detected again: detection remembers them."""
        keys = [normalise_headline(t) for t in texts]
        langs = await asyncio.to_thread(scorer.languages, keys, [lang] * len(keys))
        return [(found, scorer.validated(found)) for found in langs]

    async def explain(self, headline: str, lang: str | None = None) -> list[dict]:
        """Each word's contribution; every variant is scored in the headline's language (the
        caller's, else the whole headline's detected one), not in what its fragment looks like."""
        text = normalise_headline(headline)
        scorer = self._current()
        words, variants = occlusion_variants(text, self.words_read(scorer, text))
        if not lang:
            lang = (await self.languages(scorer, [text]))[0][0]
        probs, _ = await self.probabilities(variants, lang)
        return contributions(words, probs)

    @staticmethod
    def words_read(scorer: Scorer, text: str) -> int:
        """The words of ``text`` within the model's token cap: the ones an explanation occludes."""
        return words_read(scorer.fit(text, "right"))
