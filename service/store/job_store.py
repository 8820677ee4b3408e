"""Job records in the database: one active retraining job at a time, across every replica."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from classifier.errors import ClickbaitError, ErrorType
from service.store.db import session_factory
from service.store.tables import Job, utcnow

ACTIVE = ("queued", "running")
FINISHED = ("promoted", "rejected", "failed")


class JobConflict(ClickbaitError):
    """Another job of the kind is queued or running."""

    error_type = ErrorType.job_running


class JobStore:
    def __init__(self, engine: Engine, stale_after_s: float) -> None:
        """``stale_after_s``: a running job silent this long died (``job_stale_s``)."""
        self.sessions = session_factory(engine)
        self.stale_after = timedelta(seconds=stale_after_s)

    def create(self, params: dict[str, Any], author: str, kind: str = "retrain") -> Job:
        """A queued job; refused while another is active (a unique partial index decides, so two
        replicas asking at once cannot both win). Jobs whose process died are failed first."""
        self.fail_stale()
        job = Job(
            id=uuid.uuid4().hex,
            kind=kind,
            state="queued",
            params=params,
            progress=0.0,
            message="queued",
            author=author,
        )
        try:
            with self.sessions.begin() as session:
                session.add(job)
        except IntegrityError as exc:
            active = self.active(kind)
            raise JobConflict(
                "a retraining job is already active: "
                f"job {active.id if active else '?'} is still {active.state if active else 'active'}"
            ) from exc
        return job

    def get(self, job_id: str) -> Job | None:
        self.fail_stale()
        with self.sessions() as session:
            return session.get(Job, job_id)

    def active(self, kind: str = "retrain") -> Job | None:
        with self.sessions() as session:
            return session.scalar(select(Job).where(Job.kind == kind, Job.state.in_(ACTIVE)))

    def recent(self, limit: int = 20) -> list[Job]:
        self.fail_stale()
        with self.sessions() as session:
            return list(session.scalars(select(Job).order_by(Job.created_at.desc()).limit(limit)))

    def update(self, job_id: str, **values: Any) -> None:
        """Change fields and beat the heart; a finished job is never changed again."""
        with self.sessions.begin() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state.not_in(FINISHED))
                .values(updated_at=utcnow(), **values)
            )

    def fail_stale(self) -> None:
        """An active job without a heartbeat for ``stale_after`` lost its process: mark it failed."""
        cutoff = datetime.now(UTC) - self.stale_after
        with self.sessions.begin() as session:
            for job in session.scalars(select(Job).where(Job.state.in_(ACTIVE))):
                if job.updated_at < cutoff:  # aware UTC on every backend (tables.UTCDateTime)
                    job.state, job.message = "failed", "the job's process stopped without finishing"
                    job.updated_at = utcnow()
