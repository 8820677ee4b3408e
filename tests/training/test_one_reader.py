"""One reader of headline files (``classifier.bulk.numbered_records``): training's labelled files
and bulk scoring read the same records, with the same line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.bulk import read_headlines
from tests.support.data import labelled_rows, write_jsonl
from training.data import DataError, read_file


def test_training_and_bulk_scoring_read_the_same_headlines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "labels.jsonl", labelled_rows())
    assert [e.text for e in read_file(path)] == [h for h, _ in read_headlines(path)]


def test_a_csv_keeps_numbers_as_text_skips_a_bom_and_counts_lines(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text('\ufefftext,label\n1984,news\n"two\nlines",clickbait\n,news\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"sheet\.csv:5: 'text' is empty"):  # line 3 spans two lines
        read_file(path)
    path.write_text('\ufefftext,label\n1984,news\n"two\nlines",clickbait\n', encoding="utf-8")
    assert [(e.text, e.label) for e in read_file(path)] == [("1984", 0), ("two lines", 1)]


def test_rows_may_write_a_label_as_a_name_or_a_number(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [{"text": "a", "label": 1}, {"text": "b", "label": "news"}])
    assert [e.label for e in read_file(path)] == [1, 0]


def test_a_line_that_is_not_an_object_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": 1}\n\n[1, 2]\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:3: expected a JSON object, got list"):
        read_file(path)
