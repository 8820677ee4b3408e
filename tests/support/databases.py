"""Databases for tests: a SQLite file always, and a fresh PostgreSQL database per test when a server is
given in CLICKBAIT_TEST_POSTGRES_URL (``.ci/postgres.sh`` starts one and sets it; CI always does)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

POSTGRES_ENV = "CLICKBAIT_TEST_POSTGRES_URL"
NO_POSTGRES = (
    f"PostgreSQL tests need {POSTGRES_ENV} (a server whose user may CREATE DATABASE); "
    "run them with .ci/postgres.sh, as CI does"
)
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))  # -m "not postgres" skips


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards (connections still open are ended):
    each test starts from nothing and no test sees another's rows."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(NO_POSTGRES)
    name = f"clickbait_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def database(backend: str, directory: os.PathLike) -> Iterator[str]:
    """A URL for an empty database of ``backend`` (a SQLite file lives in ``directory``)."""
    if backend == "sqlite":
        yield f"sqlite:///{os.fspath(directory)}/labels.db"
    else:
        with fresh_postgres() as url:
            yield url
