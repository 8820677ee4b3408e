"""The label store's tables (SQLAlchemy 2); Alembic migrations in ``service/store/migrations`` create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Float, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that reads back as aware UTC on every backend: SQLite keeps no zone
    (values are written in UTC, so they are read as UTC) and PostgreSQL answers in the session's zone.
    The column DDL is unchanged, so no migration is needed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Label(Base):
    """One labelling act; a headline labelled again gets a new row, and its latest row counts."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), index=True, doc="SHA-256 of the case-folded headline")
    headline: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(64))
    reader: Mapped[str | None] = mapped_column(
        String(128), index=True, doc="whose personal layer it teaches: the key's name, or name/profile"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_labels_created_at", "created_at"),)


class Job(Base):
    """A retraining job: its parameters, progress and the comparison that decided it."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="retrain")
    state: Mapped[str] = mapped_column(String(16), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoredHeadline(Base):
    """A headline the service has scored: the bounded pool a retrain replays with the current
    model's own scores, so that a candidate keeps its judgement on what readers actually see."""

    __tablename__ = "scored_headlines"

    key: Mapped[str] = mapped_column(String(64), primary_key=True, doc="SHA-256 of the case-folded headline")
    headline: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PersonalLayerRow(Base):
    """One reader's personal layer (``classifier/personal.py``), fitted on their own labels."""

    __tablename__ = "personal_layers"

    reader: Mapped[str] = mapped_column(String(128), primary_key=True)
    model: Mapped[str] = mapped_column(String(128), doc="the shared model version it was fitted over")
    labels: Mapped[int] = mapped_column(Integer)
    layer: Mapped[dict[str, Any]] = mapped_column(JSON, doc="PersonalLayer.record()")
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    feed_token: Mapped[str] = mapped_column(
        String(64),
        unique=True,
        doc="names the reader in proxy URLs (?personal=), for readers that send no key",
    )
