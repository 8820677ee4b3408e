"""Active learning: remember recent scores, so labelling effort goes where the model is unsure."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Suggestion:
    headline: str
    score: float
    model: str


class RecentScores:
    """The last ``capacity`` distinct headlines scored (in memory, per replica), with their scores."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Suggestion] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, headlines: Iterable[str], scores: Iterable[float], model: str) -> None:
        if not self.capacity:
            return
        with self._lock:
            for headline, score in zip(headlines, scores, strict=True):
                self._items[headline] = Suggestion(headline, float(score), model)
                self._items.move_to_end(headline)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def nearest(
        self, threshold: float, limit: int, labelled: Callable[[list[str]], set[str]]
    ) -> list[Suggestion]:
        """Unlabelled headlines whose scores sit closest to ``threshold``, most uncertain first."""
        with self._lock:
            items = list(self._items.values())
        done = labelled([s.headline for s in items]) if items else set()
        pending = [s for s in items if s.headline not in done]
        return sorted(pending, key=lambda s: abs(s.score - threshold))[:limit]
