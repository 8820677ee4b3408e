"""Personal layers as the service runs them: learnt from a reader's own labels when they change,
kept with the labels, and applied to that reader's answers only (``classifier/personal.py``).

A reader is an admin key's name, or ``name/profile`` for a profile of that key (a browser profile
of the extension). Every answer asked for with a reader's key looks up that reader's layer and no
other; answers asked for without a key, or by a reader with no labels, are the shared model's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from cachetools import LRUCache

from classifier.personal import PersonalLayer
from classifier.scorer import Scorer
from classifier.text import normalise_headline
from service.settings import ServiceSettings
from service.store.label_store import LabelStore
from service.store.personal_store import PersonalStore

KEPT_VECTORS = 10_000  # headlines whose shared vector (and, if labelled, score) are kept in memory


def reader_name(owner: str, profile: str | None) -> str:
    """Whose layer: the key's name, or one of its profiles."""
    return f"{owner}/{profile}" if profile else owner


@dataclass(frozen=True)
class Learnt:
    reader: str
    labels: int
    seconds: float  # the shared model's pass over the labels and the fit, together
    fitted_at: datetime | None  # None: no labels left, no layer


@dataclass(frozen=True)
class Personalised:
    """A reader's answers for a batch: their scores, the shared ones, and the labelled headlines
    nearest each headline (indices into ``layer.headlines``)."""

    layer: PersonalLayer
    fitted_at: datetime
    probs: np.ndarray
    shared: np.ndarray
    nearest: list[list[int]]


class PersonalLayers:
    """Every reader's layer: fitted when their labels change, stored (``PersonalStore``), cached here
    by when it was fitted, so another replica's fit is picked up at the next request."""

    def __init__(self, labels: LabelStore, store: PersonalStore, settings: ServiceSettings) -> None:
        self.labels, self.store, self.settings = labels, store, settings
        self._cache: dict[str, tuple[datetime, PersonalLayer]] = {}
        # shared scores of labelled headlines and vectors of any headline a reader's answer needed:
        # a refit after a few new labels, or a feed polled again, runs the shared model over the new
        self._probs: LRUCache[tuple[str, str, str | None], float] = LRUCache(KEPT_VECTORS)
        self._vectors: LRUCache[tuple[str, str], np.ndarray] = LRUCache(KEPT_VECTORS)
        self._lock = threading.Lock()

    def learn(self, reader: str, scorer: Scorer) -> Learnt:
        """Fit ``reader``'s layer on their labels with ``scorer`` and store it (no labels: remove it)."""
        rows = self.labels.reader_labels(reader, self.settings.personal_max_labels)
        if not rows:
            self._drop(reader)
            return Learnt(reader, 0, 0.0, None)
        started = time.perf_counter()
        texts = [row.headline for row in rows]
        probs, vectors = self._shared(scorer, texts, [row.lang for row in rows])
        layer = PersonalLayer.fit(
            scorer.version,
            vectors,
            probs,
            [int(row.label == "clickbait") for row in rows],
            texts,
            scorer.threshold,
            self.settings.personal_penalty,
            self.settings.personal_bias_penalty,
            self.settings.personal_words,
            self.settings.personal_marks,
        )
        seconds = time.perf_counter() - started
        fitted_at = self.store.put(reader, scorer.version, len(rows), layer.record())
        with self._lock:
            self._cache[reader] = (fitted_at, layer)
        return Learnt(reader, len(rows), seconds, fitted_at)

    def _shared(
        self, scorer: Scorer, texts: list[str], langs: list[str | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The shared model's P(teaser) and vectors of labelled headlines, those seen before from memory."""
        keys = [(scorer.version, text, lang) for text, lang in zip(texts, langs, strict=True)]
        with self._lock:
            known = {key: self._probs[key] for key in keys if key in self._probs}
        todo = [i for i, key in enumerate(keys) if key not in known]
        if todo:
            probs = scorer.probabilities([texts[i] for i in todo], langs=[langs[i] for i in todo])
            with self._lock:
                for i, p in zip(todo, probs, strict=True):
                    known[keys[i]] = self._probs[keys[i]] = float(p)
        return np.array([known[key] for key in keys]), self.vectors(scorer, texts)

    def vectors(self, scorer: Scorer, texts: Sequence[str]) -> np.ndarray:
        """The shared model's pooled vectors of ``texts`` (at least one), those seen lately from
        memory: a reader's feed polled again costs no second pass over the items it had before."""
        keys = [(scorer.version, normalise_headline(text)) for text in texts]
        with self._lock:
            known = {key: self._vectors[key] for key in keys if key in self._vectors}
        todo = sorted({key for key in keys if key not in known})
        if todo:
            found = scorer.embeddings([text for _, text in todo])
            with self._lock:
                for key, vector in zip(todo, found, strict=True):
                    known[key] = self._vectors[key] = vector
        return np.stack([known[key] for key in keys])

    def layer(self, reader: str, scorer: Scorer) -> tuple[PersonalLayer, datetime] | None:
        """``reader``'s layer for ``scorer`` (fitted again first if it was fitted over another model
        version), and when it was fitted; None if they have none."""
        fitted_at = self.store.fitted_at(reader)
        if fitted_at is None:
            with self._lock:
                self._cache.pop(reader, None)
            return None
        with self._lock:
            cached = self._cache.get(reader)
        if cached is not None and cached[0] == fitted_at:
            layer = cached[1]
        else:
            row = self.store.get(reader)
            if row is None:
                return None
            layer = PersonalLayer.from_record(row.layer)
            with self._lock:
                self._cache[reader] = (fitted_at, layer)
        if layer.model != scorer.version:  # its vectors were another model's: learn again
            learnt = self.learn(reader, scorer)
            return self.layer(reader, scorer) if learnt.fitted_at else None
        return layer, fitted_at

    def forget(self, reader: str) -> tuple[int, bool]:
        """Delete ``reader``'s labels and layer: (labels deleted, whether a layer was)."""
        deleted = self.labels.delete_reader(reader)
        return deleted, self._drop(reader)

    def _drop(self, reader: str) -> bool:
        with self._lock:
            self._cache.pop(reader, None)
        return self.store.delete(reader)

    def answers(
        self, found: tuple[PersonalLayer, datetime], scorer: Scorer, texts: Sequence[str], probs: np.ndarray
    ) -> Personalised:
        """The reader's P(teaser) for ``texts``, given the shared ``probs`` (one more pass of the
        shared model over those whose vectors are not in memory)."""
        layer, fitted_at = found
        vectors = self.vectors(scorer, texts)
        nearest = (
            layer.nearest(vectors, self.settings.personal_nearest) if self.settings.personal_nearest else []
        )
        shared = np.asarray(probs, dtype=np.float64)
        return Personalised(layer, fitted_at, layer.apply(shared, vectors, texts), shared, nearest)
