"""Job records on each database backend: the partial unique index allows one active job across
replicas (two engines = two processes' pools), JSON fields round-trip, dead jobs are failed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from service.runtime.retrain_job import run
from service.settings import ServiceSettings
from service.store.db import make_engine, migrate
from service.store.job_store import JobConflict, JobStore
from service.store.tables import Job, utcnow

STALE_S = 120.0  # how long a silent running job lives; the test ages one by an hour


@pytest.fixture()
def engines(database_url: str) -> Iterator[tuple[Engine, Engine]]:
    first, second = make_engine(database_url), make_engine(database_url)
    migrate(first)
    yield first, second
    first.dispose()
    second.dispose()


def test_one_active_job_across_replicas_and_json_round_trips(engines: tuple[Engine, Engine]) -> None:
    one, two = JobStore(engines[0], STALE_S), JobStore(engines[1], STALE_S)
    params = {"from_base": False, "settings": {"retrain": {"epochs": 2, "lr": 1e-4}, "model": "ü/ș"}}
    job = one.create(params, "alice")
    with pytest.raises(JobConflict, match=job.id):
        two.create({}, "bob")
    one.update(job.id, state="rejected", result={"candidate": "v2", "scores": [0.5, None]})
    stored = two.get(job.id)
    assert stored.params == params and stored.result == {"candidate": "v2", "scores": [0.5, None]}
    assert two.create({}, "bob").author == "bob"  # a finished job no longer blocks


def test_a_job_without_heartbeat_is_failed_and_frees_the_slot(engines: tuple[Engine, Engine]) -> None:
    jobs = JobStore(engines[0], STALE_S)
    job = jobs.create({}, "alice")
    with jobs.sessions.begin() as session:
        session.execute(update(Job).where(Job.id == job.id).values(updated_at=utcnow() - timedelta(hours=1)))
    fresh = JobStore(engines[1], STALE_S).create({}, "bob")
    assert jobs.get(job.id).state == "failed" and jobs.active().id == fresh.id


def test_a_retrain_with_no_labels_fails_at_once_saying_why(known_model: Path, tmp_path: Path) -> None:
    """An empty label export used to fail as 'labels.jsonl: cannot parse'."""
    settings = ServiceSettings(model=str(known_model), data_dir=tmp_path)
    engine = make_engine(settings.database)
    migrate(engine)
    job = JobStore(engine, settings.job_stale_s).create({}, "alice")
    finished = run(job.id, settings)
    assert (finished.state, finished.message) == (
        "failed",
        f"DataError: 0 labelled headlines stored; a retrain needs at least {settings.retrain.min_labels}",
    )
    engine.dispose()
