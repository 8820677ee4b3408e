"""The pool of headlines the service has scored, kept in the label store for retraining to replay.

A retrain fits its candidate to the current model's own scores on these headlines (beside the
editor's labels), so the candidate keeps the current judgement on what readers actually see.
Only the headline text is kept (no score, no client, no time of the request beyond the last one
seen), the newest ``capacity`` distinct headlines; ``capacity`` 0 keeps none
(``CLICKBAIT_RETRAIN_POOL_SIZE``). Scoring routes only queue headlines in memory; ``flush`` writes
them in one transaction, from a background loop and at shutdown, so no request waits on the disk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Engine, delete, func, select

from classifier.text import headline_key, normalise_headline
from service.store.db import session_factory
from service.store.tables import ScoredHeadline, utcnow


class HeadlinePool:
    def __init__(self, engine: Engine, capacity: int) -> None:
        self.sessions = session_factory(engine)
        self.capacity = capacity
        self._queued: dict[str, str] = {}
        self._lock = threading.Lock()

    def queue(self, headlines: Iterable[str]) -> None:
        """Remember headlines for the next flush (in memory, bounded by the capacity)."""
        if not self.capacity:
            return
        with self._lock:
            for headline in headlines:
                text = normalise_headline(headline)
                if "\x00" in text:  # PostgreSQL stores no NUL: one such headline failed the whole flush
                    continue
                self._queued.pop(text, None)  # re-seen: moves to the end
                self._queued[text] = headline_key(text)
            while len(self._queued) > self.capacity:
                self._queued.pop(next(iter(self._queued)))

    def flush(self) -> int:
        """Write the queued headlines (new ones added, known ones marked seen now), then drop the
        oldest beyond the capacity; returns how many were written."""
        with self._lock:
            queued, self._queued = self._queued, {}
        if not queued:
            return 0
        now = utcnow()
        with self.sessions.begin() as session:
            known = {
                row.key: row
                for row in session.scalars(
                    select(ScoredHeadline).where(ScoredHeadline.key.in_(set(queued.values())))
                )
            }
            for text, key in queued.items():
                if key in known:
                    known[key].seen_at = now
                else:
                    session.add(ScoredHeadline(key=key, headline=text, seen_at=now))
            session.flush()
            excess = (session.scalar(select(func.count()).select_from(ScoredHeadline)) or 0) - self.capacity
            if excess > 0:
                oldest = select(ScoredHeadline.key).order_by(ScoredHeadline.seen_at).limit(excess)
                session.execute(delete(ScoredHeadline).where(ScoredHeadline.key.in_(oldest)))
        return len(queued)

    def headlines(self) -> list[str]:
        """Every pooled headline, newest first."""
        with self.sessions() as session:
            return list(
                session.scalars(select(ScoredHeadline.headline).order_by(ScoredHeadline.seen_at.desc()))
            )

    def count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(ScoredHeadline)) or 0
