"""The label store on each database backend (a SQLite file; PostgreSQL when CI gives one): history, latest
label, conflicts, paging, migrations."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from service.store.db import MIGRATIONS, is_current, make_engine, migrate, newest_revision
from service.store.label_store import LabelStore, NewLabel, training_row

ROOT = Path(__file__).resolve().parents[2]  # this checkout first on the path of subprocesses


@pytest.fixture()
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def store(engine: Engine) -> LabelStore:
    migrate(engine)
    return LabelStore(engine)


def test_labels_keep_history_latest_counts_and_conflicts_are_reported(store: LabelStore) -> None:
    ids, conflicts = store.add(
        [NewLabel("Ce a pățit vedeta!", "clickbait", "ro", "a.ro"), NewLabel("Budget approved", "news")],
        "alice",
    )
    assert len(ids) == 2 and conflicts == []
    _, conflicts = store.add([NewLabel("  ce a PĂȚIT vedeta! ", "news")], "bob")  # same headline
    assert [(c.label, c.previous_label, c.previous_author) for c in conflicts] == [
        ("news", "clickbait", "alice")
    ]
    _, conflicts = store.add([NewLabel("Budget approved", "news")], "bob")  # agreement is no conflict
    assert conflicts == []

    latest = list(store.latest())
    assert {(r.headline, r.label) for r in latest} == {
        ("ce a PĂȚIT vedeta!", "news"),
        ("Budget approved", "news"),
    }
    assert store.count() == 4
    disputed = store.page(conflicting=True).labels
    assert [r.author for r in disputed] == ["alice", "bob"]
    assert [r.label for r in store.page(author="alice").labels] == ["clickbait", "news"]


def test_pages_follow_ids_and_filters_combine(store: LabelStore) -> None:
    store.add([NewLabel(f"headline {i}", "clickbait" if i % 2 else "news", "en") for i in range(7)], "alice")
    first = store.page(limit=3)
    assert [r.headline for r in first.labels] == ["headline 0", "headline 1", "headline 2"]
    second = store.page(after=first.next_after, limit=3)
    assert [r.headline for r in second.labels] == ["headline 3", "headline 4", "headline 5"]
    last = store.page(after=second.next_after, limit=3)
    assert [r.headline for r in last.labels] == ["headline 6"] and last.next_after is None
    assert [r.headline for r in store.page(label="clickbait", contains="headline 3").labels] == ["headline 3"]


def test_export_rows_are_what_training_reads(store: LabelStore, tmp_path: Path) -> None:
    from training.data import read_file

    store.add(
        [
            NewLabel("Wow! You must see this", "clickbait", "en"),
            NewLabel("Rates unchanged", "news", source="bank.example"),
        ],
        "a",
    )
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(training_row(r) for r in store.latest()), encoding="utf-8")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0] == {"text": "Wow! You must see this", "label": "clickbait", "lang": "en"}
    examples = read_file(path)
    assert [(e.label, e.source) for e in examples] == [(1, None), (0, "bank.example")]


def test_labelled_tells_which_headlines_have_a_label(store: LabelStore) -> None:
    store.add([NewLabel("Known one", "news")], "a")
    assert store.labelled(["known  ONE", "unknown"]) == {"known  ONE"}


def test_a_failed_batch_stores_nothing(store: LabelStore) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the database refuses a NULL label
        store.add([NewLabel("fine", "news"), NewLabel("broken", None)], "a")  # type: ignore[arg-type]
    assert store.count() == 0


def test_migrations_run_on_an_empty_and_on_an_existing_database(engine: Engine) -> None:
    assert not is_current(engine)
    assert not is_current(engine)
    migrate(engine, "0001")  # a database from the first release: labels, no jobs
    assert (
        "jobs" not in inspect(engine).get_table_names() and not is_current(engine) and not is_current(engine)
    )
    with engine.begin() as connection:  # as the first release wrote it: no reader column yet
        connection.execute(
            text(
                "INSERT INTO labels (key, headline, label, author, created_at) "
                "VALUES ('k', 'Kept across the upgrade', 'news', 'a', CURRENT_TIMESTAMP)"
            )
        )
    migrate(engine)
    migrate(engine)  # idempotent: every start-up runs it
    assert {"labels", "jobs", "scored_headlines", "alembic_version"} <= set(inspect(engine).get_table_names())
    assert [(r.headline, r.reader) for r in LabelStore(engine).latest()] == [("Kept across the upgrade", "a")]
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0005"
    assert is_current(engine)


def test_a_start_on_a_current_database_skips_alembic(tmp_path: Path) -> None:
    """The quick check's newest revision is Alembic's head, and a current database is left alone
    without importing Alembic (its import is ~10 MB of a served process's memory)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert newest_revision() == ScriptDirectory.from_config(config).get_current_head()
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    start = f"import sys; from service.store.db import make_engine, migrate; migrate(make_engine({url!r}))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    imported = [
        subprocess.run(
            [sys.executable, "-c", f"{start}; print('alembic' in sys.modules)"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert imported == ["True", "False"]  # the first start migrated; the second found it current


def test_sqlite_files_use_wal_and_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "labels.db"
    migrate(make_engine(f"sqlite:///{path}"))
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_times_come_back_in_utc_with_their_zone(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite keeps no zone and PostgreSQL answers in the session's zone (here not UTC); both read as UTC."""
    monkeypatch.setenv("PGTZ", "Europe/Bucharest")
    engine = make_engine(database_url)
    migrate(engine)
    store, before = LabelStore(engine), datetime.now(UTC)
    store.add([NewLabel("Timed", "news")], "a")
    _, conflicts = store.add([NewLabel("Timed", "clickbait")], "b")
    for moment in (store.page().labels[0].created_at, conflicts[0].previous_at):
        assert moment.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=5) <= moment <= datetime.now(UTC) + timedelta(seconds=5)
    engine.dispose()


def test_contains_is_literal_text_and_ignores_case(store: LabelStore) -> None:
    """``%`` and ``_`` typed into the search box are characters, not LIKE wildcards."""
    store.add(
        [
            NewLabel("Rates up 50% in a year", "news"),
            NewLabel("Rates up 50 points", "news"),
            NewLabel("snake_case NEWS", "news"),
            NewLabel("snakeXcase news", "news"),
        ],
        "a",
    )
    assert [r.headline for r in store.page(contains="50%").labels] == ["Rates up 50% in a year"]
    assert [r.headline for r in store.page(contains="SNAKE_case news").labels] == ["snake_case NEWS"]


MIGRATE_AT = """
import sys, time
from service.store.db import make_engine, migrate
engine = make_engine(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every process starts migrating at one moment
migrate(engine)
"""


def test_processes_starting_together_all_migrate_a_fresh_database(database_url: str) -> None:
    """Each replica (or worker process) migrates on start-up; they take turns behind a lock instead of
    racing to CREATE the same tables (which failed on both backends before the lock)."""
    start = time.time() + 3  # past every process's imports
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_AT, database_url, str(start)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, "\n".join(errors)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0005"
    engine.dispose()
