"""Each reader's personal layer, stored beside their labels (``personal_layers``)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from service.store.db import session_factory
from service.store.tables import PersonalLayerRow, utcnow


class PersonalStore:
    def __init__(self, engine: Engine) -> None:
        self.sessions = session_factory(engine)

    def put(self, reader: str, model: str, labels: int, layer: dict) -> datetime:
        """Store (or replace) ``reader``'s layer; when it was fitted. A new layer gets a feed token
        of its own; a refitted one keeps its token, so the reader's proxy URLs keep working."""
        try:
            return self._put(reader, model, labels, layer)
        except IntegrityError:  # two first fits of one reader at once: the later one updates
            return self._put(reader, model, labels, layer)

    def _put(self, reader: str, model: str, labels: int, layer: dict) -> datetime:
        fitted_at = utcnow()
        with self.sessions.begin() as session:
            row = session.get(PersonalLayerRow, reader)
            if row is None:
                row = PersonalLayerRow(reader=reader)
                session.add(row)
            row.model, row.labels, row.layer, row.fitted_at = model, labels, layer, fitted_at
            row.feed_token = row.feed_token or secrets.token_urlsafe(24)
        return fitted_at

    def reader_of_token(self, token: str) -> str | None:
        """The reader whose feed token this is (None: no layer has it)."""
        with self.sessions() as session:
            return session.scalar(select(PersonalLayerRow.reader).where(PersonalLayerRow.feed_token == token))

    def fitted_at(self, reader: str) -> datetime | None:
        """When ``reader``'s layer was fitted (None: they have none): a cheap look before a load."""
        with self.sessions() as session:
            return session.scalar(select(PersonalLayerRow.fitted_at).where(PersonalLayerRow.reader == reader))

    def get(self, reader: str) -> PersonalLayerRow | None:
        with self.sessions() as session:
            return session.get(PersonalLayerRow, reader)

    def delete(self, reader: str) -> bool:
        with self.sessions.begin() as session:
            return bool(
                session.execute(delete(PersonalLayerRow).where(PersonalLayerRow.reader == reader)).rowcount
            )
