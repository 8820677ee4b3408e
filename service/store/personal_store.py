"""Each reader's personal layer, stored beside their labels (``personal_layers``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, select

from service.store.db import session_factory
from service.store.tables import PersonalLayerRow, utcnow


class PersonalStore:
    def __init__(self, engine: Engine) -> None:
        self.sessions = session_factory(engine)

    def put(self, reader: str, model: str, labels: int, layer: dict) -> datetime:
        """Store (or replace) ``reader``'s layer; when it was fitted."""
        fitted_at = utcnow()
        with self.sessions.begin() as session:
            session.merge(
                PersonalLayerRow(reader=reader, model=model, labels=labels, layer=layer, fitted_at=fitted_at)
            )
        return fitted_at

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
