"""Database connections and schema migrations (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

import os
import sqlite3
import time
from importlib.resources import files
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker


def make_engine(url: str) -> Engine:
    """An engine; SQLite files get WAL (readers never block the writer) and full fsync on commit,
    so a label acknowledged to a client survives a crash of the process or the machine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        # readers' labels and the headlines they scored are theirs: the owner alone reads them
        # (SQLite gives the -wal and -shm files the database file's own mode)
        Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(parsed.database, os.O_CREAT | os.O_WRONLY, 0o600))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    return engine


def _use_wal(cursor, patience_s: float = 30.0) -> None:
    """Switch a new file to WAL (the mode then stays with the file). Switching needs the file to
    itself, and SQLite answers "locked" at once, busy timeout or not, while another process holds
    a write lock (a migration starting beside this one): wait for it, within ``patience_s``."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


MIGRATION_LOCK = 0x636C6B62  # any fixed number; "clkb": the advisory lock the replicas' migrations share


MIGRATIONS = files("service.store") / "migrations"


def newest_revision() -> str:
    """The last migration's revision: the files of the linear chain are named ``NNNN_what.py`` with
    ``revision = "NNNN"`` (``tests/service/test_label_store.py`` holds Alembic to the same answer)."""
    return max(p.name.split("_")[0] for p in (MIGRATIONS / "versions").iterdir() if p.name[:4].isdigit())


def is_current(engine: Engine) -> bool:
    """Whether the schema is already at the newest revision: a plain query, so that a start-up on a
    current database never imports Alembic, whose import (most of it Mako) costs start-up time and
    memory (``docs/results/2026-11-29-footprint.md``)."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no such table: a new database
        return False
    return found == [newest_revision()]


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic); safe to run on every start-up, by several processes at
    once: the upgrade runs in one transaction that first takes a lock, so a process that starts while
    another migrates waits, then finds the schema current (without it both CREATE the same tables and
    one fails). PostgreSQL: a transaction-scoped advisory lock. SQLite: BEGIN IMMEDIATE, the file's
    write lock, taken before Alembic reads the version (Python's sqlite3 would otherwise run the DDL
    outside any transaction, and a late lock upgrade fails at once with "database is locked")."""
    if revision == "head" and is_current(engine):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
