"""Reading, validation errors, de-duplication, splits and sampling weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from classifier.language import UNDETERMINED
from tests.support.data import labelled_rows, write_jsonl
from training.calibration import row_languages
from training.data import (
    DataError,
    Example,
    deduplicate,
    hashed_rows,
    load_dataset,
    read_file,
    sampling_weights,
    split_holdout,
)


def test_reads_jsonl_and_csv_alike(tmp_path: Path) -> None:
    jsonl = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"text": "  Senate   passes bill ", "label": "news", "lang": "en"},
            {"text": "You won't believe it", "label": 1},
        ],
    )
    csv = tmp_path / "b.csv"
    csv.write_text('text,label,lang\n"Senate passes bill",0,en\n"You won\'t believe it",clickbait,\n')
    from_json, from_csv = read_file(jsonl), read_file(csv)
    assert [(e.text, e.label) for e in from_json] == [(e.text, e.label) for e in from_csv]
    assert from_json[0].text == "Senate passes bill" and from_json[1].lang == "und"
    assert from_json[0].file == "a" and from_csv[0].file == "b"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"text": "ok", "label": "news"}', '{"label": "news"}'], r"bad\.jsonl:2: 'text' must be a string"),
        (
            ['{"text": "ok", "label": "news"}', "", '{"text": "   ", "label": "news"}'],
            r"bad\.jsonl:3: 'text' is empty",
        ),
        (['{"text": "ok", "label": "spam"}'], r"bad\.jsonl:1: unknown label 'spam'"),
        (['{"text": "ok", "label": "news"}', '{"text": 7, "label": "news"}'], r"bad\.jsonl:2:"),
        (
            ['{"text": "ok", "label": "news"}', '{"text": "x", "label": "news"'],
            r"bad\.jsonl:2: not JSON",
        ),
        (['{"title": "ok", "label": "news"}'], r"missing column 'text'"),
        (['{"text": "ok"}'], r"missing column 'label'"),
    ],
)
def test_validation_errors_name_file_and_line(tmp_path: Path, lines: list[str], message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=message):
        read_file(bad)


def test_csv_errors_count_the_header_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,news\n,news\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: 'text' is empty"):
        read_file(bad)


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_file(tmp_path / "nope.jsonl")
    (tmp_path / "x.parquet").write_bytes(b"")
    with pytest.raises(DataError, match="unsupported file type"):
        read_file(tmp_path / "x.parquet")


def test_load_validates_every_file_before_returning(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", labelled_rows())
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "x", "label": "maybe"}])
    with pytest.raises(DataError, match="bad.jsonl:1"):
        load_dataset([good, bad])


def _ex(text: str, label: int, lang: str = "en", source: str | None = None) -> Example:
    return Example(text, label, lang, source, "f")


def test_deduplicate_drops_copies_and_conflicts() -> None:
    rows = [_ex("Same Title", 0), _ex("same  title", 0), _ex("Torn", 0), _ex("torn", 1), _ex("Other", 1)]
    kept, duplicates, conflicts = deduplicate(rows)
    assert [e.text for e in kept] == ["Same Title", "Other"]
    assert (duplicates, conflicts) == (1, 2)


def test_load_reports_dedup_and_file_hashes(tmp_path: Path) -> None:
    rows = labelled_rows() + [{"text": labelled_rows()[0]["text"], "label": "clickbait"}]
    data = load_dataset([write_jsonl(tmp_path / "d.jsonl", rows)])
    assert data.conflicts_dropped == 2 and len(data.examples) == len(rows) - 2
    assert data.files[0].rows == len(rows) and len(data.files[0].sha256) == 64


def test_split_is_deterministic_and_by_source_keeps_sites_whole() -> None:
    rows = [_ex(f"headline number {i}", i % 2, source=f"site{i % 10}") for i in range(400)]
    _train_a, held_a = split_holdout(rows, 0.3)
    _train_b, held_b = split_holdout(list(reversed(rows)), 0.3)
    assert {e.text for e in held_a} == {e.text for e in held_b} and 60 < len(held_a) < 180
    _, held_sites = split_holdout(rows, 0.3, by="source")
    train_sites, _ = split_holdout(rows, 0.3, by="source")
    assert {e.source for e in held_sites}.isdisjoint({e.source for e in train_sites})


def test_a_hashed_sample_ignores_order_and_depends_on_its_salt() -> None:
    rows = [_ex(f"headline number {i}", i % 2) for i in range(200)]
    picked = hashed_rows(rows, 20, "a:")
    assert len(picked) == 20 and picked == hashed_rows(list(reversed(rows)), 20, "a:")
    assert {e.text for e in picked} != {e.text for e in hashed_rows(rows, 20, "b:")}
    assert len(hashed_rows(rows[:5], 20, "a:")) == 5


def test_sampling_weights_balance_languages_and_classes() -> None:
    rows = [_ex(f"a{i}", 0, "en") for i in range(900)] + [_ex(f"b{i}", 1, "en") for i in range(100)]
    rows += [_ex(f"c{i}", i % 2, "ro") for i in range(100)]
    w = sampling_weights(rows, lang_alpha=0.0)
    assert np.isclose(w.sum(), 1.0)

    def mass(pred: Callable[[Example], bool]) -> float:
        return w[[i for i, e in enumerate(rows) if pred(e)]].sum()

    assert np.isclose(mass(lambda e: e.lang == "en"), 0.5)
    assert np.isclose(mass(lambda e: e.lang == "en" and e.label == 1), 0.25)
    natural = sampling_weights(rows, lang_alpha=1.0)
    assert np.isclose(natural[[i for i, e in enumerate(rows) if e.lang == "ro"]].sum(), 100 / 1100)
    halved = sampling_weights(rows, lang_alpha=0.0, lang_weights={"ro": 0.5})
    assert np.isclose(halved[[i for i, e in enumerate(rows) if e.lang == "ro"]].sum(), 1 / 3)


def test_source_alpha_evens_out_the_sources_of_a_class() -> None:
    rows = [_ex(f"a{i}", 1, "tr", "big") for i in range(900)]
    rows += [_ex(f"b{i}", 1, "tr", "small") for i in range(100)]
    rows += [_ex(f"c{i}", 0, "tr") for i in range(50)]

    def mass(w: np.ndarray, source: str | None) -> float:
        return w[[i for i, e in enumerate(rows) if e.source == source]].sum()

    natural = sampling_weights(rows, lang_alpha=0.5)
    assert np.isclose(mass(natural, "small"), 0.5 * 100 / 1000)
    assert np.allclose(natural, sampling_weights(rows, lang_alpha=0.5, source_alpha=1.0))
    even = sampling_weights(rows, lang_alpha=0.5, source_alpha=0.0)
    assert np.isclose(mass(even, "small"), 0.25) and np.isclose(mass(even, "big"), 0.25)
    assert np.isclose(mass(even, None), 0.5)  # the other class keeps its half
    rooted = sampling_weights(rows, lang_alpha=0.5, source_alpha=0.5)
    assert np.isclose(mass(rooted, "small"), 0.5 * 10 / 40)


def test_a_headline_column_stands_for_text_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        '{"headline": "Primarul a inaugurat podul", "label": "news"}\n'
        '{"text": "Nu o să crezi", "label": "1"}\n',
        encoding="utf-8",
    )
    assert [(e.text, e.label) for e in read_file(path)] == [
        ("Primarul a inaugurat podul", 0),
        ("Nu o să crezi", 1),
    ]


def test_a_declared_language_is_read_as_scoring_names_it(tmp_path: Path) -> None:
    """A file's "RO" fitted a correction under "RO", which scoring (lower case) never looked up."""
    path = write_jsonl(
        tmp_path / "rows.jsonl",
        [
            {"text": "Guvernul a adoptat bugetul", "label": "news", "lang": " RO "},
            {"text": "Kerajaan umumkan anggaran", "label": "news", "lang": "ms"},
            {"text": "The budget passed", "label": "news"},
        ],
    )
    rows = read_file(path)
    assert [r.lang for r in rows] == ["ro", "id", UNDETERMINED]
    assert row_languages(rows) == ["ro", "id", "en"]
