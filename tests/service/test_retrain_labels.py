"""A retrain reads the stored labels as rows, with no file in between, recorded as the export
(``clickbait labels export``) would be."""

from __future__ import annotations

import hashlib
from pathlib import Path

from service.runtime.retrain_job import stored_labels
from service.settings import ServiceSettings
from service.store.db import make_engine, migrate
from service.store.label_store import LabelStore, NewLabel
from tests.support.data import write_jsonl
from training.data import read_file
from training.retrain import label_set


def test_the_stored_labels_are_the_rows_and_the_record_of_their_export(tmp_path: Path) -> None:
    engine = make_engine(ServiceSettings(data_dir=tmp_path).database)
    migrate(engine)
    store = LabelStore(engine)
    store.add(
        [
            NewLabel("  Guvernul   a aprobat bugetul ", "news", "RO", "site"),
            NewLabel("You won't believe this", "clickbait"),
            NewLabel("Parliament passes the budget", "news", "en"),
        ],
        "ana",
    )
    store.add([NewLabel("Parliament passes the budget", "clickbait", "en")], "ana")  # the latest counts
    stored = stored_labels(store)
    export = tmp_path / "labels.jsonl"
    export.write_text("".join(store.training_rows()), encoding="utf-8")
    assert stored.examples == read_file(export) == label_set(export).examples
    assert [(e.lang, e.label) for e in stored.examples] == [("ro", 0), ("und", 1), ("en", 1)]
    assert stored.files == label_set(export).files  # name, hash and rows of the export
    assert stored.files[0].sha256 == hashlib.sha256(export.read_bytes()).hexdigest()
    engine.dispose()


def test_a_labels_file_is_read_as_it_is(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mine.jsonl", [{"text": "a", "label": 1}, {"text": "a", "label": 1}])
    labels = label_set(path)
    assert len(labels.examples) == 2 and labels.files[0].name == "mine.jsonl"
    assert label_set(labels) is labels
