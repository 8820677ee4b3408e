"""The label store: every labelling act kept, the latest label of a headline counting."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine, Select, delete, func, select, text

from classifier.text import headline_key, normalise_headline
from service.store.db import session_factory
from service.store.tables import Label


@dataclass(frozen=True)
class NewLabel:
    headline: str
    label: str
    lang: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Conflict:
    """A label that disagrees with the headline's label before it."""

    headline: str
    label: str
    previous_label: str
    previous_author: str
    previous_at: datetime


@dataclass
class LabelPage:
    labels: list[Label]
    next_after: int | None


MAX_LANG_CHARS, MAX_SOURCE_CHARS = 16, 255  # a label's lang and source, at most (API and import)


def source_of(link: object) -> str | None:
    """Where a label was given, from the link of the item it labels: the link's host, as every
    client that labels from a reader sends it (the extension, FreshRSS, Miniflux, the feed proxy);
    None for a link that has none."""
    try:
        host = urlsplit(link).hostname if isinstance(link, str) else None
    except ValueError:  # a link urllib cannot split ("http://[x")
        return None
    return host[:MAX_SOURCE_CHARS] if host else None


LABEL_WRITES_LOCK = 0x6C61_6265  # PostgreSQL advisory lock of label writes, across replicas


class LabelStore:
    def __init__(self, engine: Engine) -> None:
        self.sessions = session_factory(engine)
        self.postgres = engine.dialect.name == "postgresql"
        self._writes = threading.Lock()

    def add(
        self, labels: Sequence[NewLabel], author: str, reader: str | None = None
    ) -> tuple[list[int], list[Conflict]]:
        """Store all labels in one transaction (all or none); report those that change a headline's
        label. Returns (ids, conflicts) once committed, so an acknowledged label is durable.
        ``reader``: whose personal layer they teach (``author`` unless told: a key's own taste)."""
        keys = [headline_key(item.headline) for item in labels]
        # one writer at a time, from reading the labels before to the commit: two requests that
        # both read the old label would each store theirs and report no conflict with the other
        with self._writes, self.sessions.begin() as session:
            if self.postgres:
                session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": LABEL_WRITES_LOCK})
            previous = {row.key: row for row in session.scalars(_latest(set(keys)))}
            rows, conflicts = [], []
            for key, item in zip(keys, labels, strict=True):
                before = previous.get(key)
                if before is not None and before.label != item.label:
                    conflicts.append(
                        Conflict(item.headline, item.label, before.label, before.author, before.created_at)
                    )
                row = Label(
                    key=key,
                    headline=normalise_headline(item.headline),
                    label=item.label,
                    lang=item.lang,
                    source=item.source,
                    author=author,
                    reader=reader or author,
                )
                session.add(row)
                rows.append(row)
                previous[key] = row
            session.flush()
            return [row.id for row in rows], conflicts

    def add_changed(self, labels: Sequence[NewLabel], author: str, reader: str) -> int:
        """Store those of ``labels`` that change ``reader``'s latest label of their headline (the
        last one per headline): a source read again and again, as a sweep reads Miniflux, adds each
        label once. How many were stored."""
        keys = {headline_key(item.headline) for item in labels}
        newest = (
            select(func.max(Label.id)).where(Label.reader == reader, Label.key.in_(keys)).group_by(Label.key)
        )
        with self.sessions() as session:
            current = {
                row.key: row.label for row in session.scalars(select(Label).where(Label.id.in_(newest)))
            }
        fresh = {headline_key(item.headline): item for item in labels}
        changed = [item for key, item in fresh.items() if current.get(key) != item.label]
        if changed:
            self.add(changed, author, reader)
        return len(changed)

    def page(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        label: str | None = None,
        lang: str | None = None,
        source: str | None = None,
        author: str | None = None,
        contains: str | None = None,
        latest_only: bool = False,
        conflicting: bool = False,
    ) -> LabelPage:
        """Labels in id order after ``after`` (keyset paging), filtered."""
        query = _latest() if latest_only else select(Label)
        query = query.where(Label.id > after).order_by(Label.id).limit(limit + 1)
        for column, value in (
            (Label.label, label),
            (Label.lang, lang),
            (Label.source, source),
            (Label.author, author),
        ):
            if value is not None:
                query = query.where(column == value)
        if contains:
            query = query.where(Label.headline.icontains(contains, autoescape=True))  # % and _ are text
        if conflicting:
            disputed = select(Label.key).group_by(Label.key).having(func.count(Label.label.distinct()) > 1)
            query = query.where(Label.key.in_(disputed))
        with self.sessions() as session:
            rows = list(session.scalars(query))
        more = len(rows) > limit
        return LabelPage(rows[:limit], rows[limit - 1].id if more else None)

    def latest(self, batch: int = 1000) -> Iterator[Label]:
        """The label that counts for each headline, in id order, streamed in batches."""
        after = 0
        while True:
            with self.sessions() as session:
                rows = list(
                    session.scalars(_latest().where(Label.id > after).order_by(Label.id).limit(batch))
                )
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].id

    def training_rows(self) -> Iterator[str]:
        """The latest label of every headline as JSONL lines that ``clickbait train`` reads."""
        for row in self.latest():
            yield training_row(row)

    def labelled(self, headlines: Sequence[str]) -> set[str]:
        """Which of ``headlines`` (by key) already carry a label."""
        keys = {headline_key(h) for h in headlines}
        with self.sessions() as session:
            found = set(session.scalars(select(Label.key).where(Label.key.in_(keys)).distinct()))
        return {h for h in headlines if headline_key(h) in found}

    def reader_labels(self, reader: str, limit: int) -> list[Label]:
        """The ``limit`` newest of ``reader``'s own labels, the latest per headline (what teaches
        their personal layer), oldest first."""
        newest = select(func.max(Label.id)).where(Label.reader == reader).group_by(Label.key)
        query = select(Label).where(Label.id.in_(newest)).order_by(Label.id.desc()).limit(limit)
        with self.sessions() as session:
            return list(reversed(list(session.scalars(query))))

    def delete_reader(self, reader: str) -> int:
        """Delete every label of ``reader``; how many went."""
        with self._writes, self.sessions.begin() as session:
            return session.execute(delete(Label).where(Label.reader == reader)).rowcount or 0

    def count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(Label)) or 0


def training_row(row: Label) -> str:
    """One JSONL line in the format ``clickbait train`` reads."""
    fields = {"text": row.headline, "label": row.label, "lang": row.lang, "source": row.source}
    return json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False) + "\n"


def _latest(keys: set[str] | None = None) -> Select[tuple[Label]]:
    """Rows that are the newest label of their headline (of ``keys`` only, when given: a write then
    reads its own headlines' rows through the key index, not the whole table)."""
    newest = select(func.max(Label.id)).group_by(Label.key)
    if keys is not None:
        newest = newest.where(Label.key.in_(keys))
    return select(Label).where(Label.id.in_(newest))
