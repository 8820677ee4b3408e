"""Bulk scoring: every input format, input order kept, resume after an interruption."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.artifact import BaseRef, Manifest
from classifier.base import load_encoder, load_tokenizer, resolve_base
from classifier.bulk import BulkError, completed_records, read_headlines, read_tables, score_file
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer
from classifier.torch_backend import TorchBackend
from tests.support.data import CLICKBAIT, NEWS

HEADLINES = NEWS + CLICKBAIT


@pytest.fixture(scope="module")
def tiny_scorer(tiny_base) -> Scorer:
    base = resolve_base(str(tiny_base))
    manifest = Manifest(version="t", base=BaseRef(name=base.name, sha256=base.sha256), method="full")
    return Scorer(
        TorchBackend(HeadlineClassifier(load_encoder(base.path))), load_tokenizer(base.path), manifest
    )


def _inputs(tmp_path: Path) -> list[Path]:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "headline": h}) + "\n\n" for i, h in enumerate(HEADLINES)))
    table = tmp_path / "in.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "text"])
        writer.writerows([["x", h] for h in HEADLINES])
    text = tmp_path / "in.txt"
    text.write_text("\n".join(HEADLINES) + "\n\n")
    return [jsonl, table, text]


def test_every_format_reads_the_same_headlines(tmp_path: Path) -> None:
    for path in _inputs(tmp_path):
        assert [h for h, _ in read_headlines(path)] == HEADLINES, path.name
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"}\n')
    with pytest.raises(BulkError, match="bad.jsonl:1"):
        list(read_headlines(bad))


def test_resume_continues_after_a_torn_line(tiny_scorer: Scorer, tmp_path: Path) -> None:
    source = _inputs(tmp_path)[2]
    whole = tmp_path / "whole.jsonl"
    assert score_file(tiny_scorer, source, whole, progress=False) == (0, len(HEADLINES))
    expected = whole.read_text().splitlines(keepends=True)
    assert [json.loads(line)["headline"] for line in expected] == HEADLINES

    part = tmp_path / "part.jsonl"
    part.write_text("".join(expected[:5]) + expected[5][:12])  # killed while writing line 6
    assert completed_records(part) == 5 and part.read_text() == "".join(expected[:5])
    part.write_text("".join(expected[:5]) + expected[5][:12])
    with pytest.raises(BulkError, match="--resume"):
        score_file(tiny_scorer, source, part, progress=False)
    assert score_file(tiny_scorer, source, part, resume=True, progress=False) == (5, len(HEADLINES) - 5)
    assert part.read_text() == "".join(expected)


def test_a_records_lang_wins_over_detection(tiny_scorer: Scorer, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "langs.jsonl"
    given = ["ro", None, "MS", ""]  # Malay is read as Indonesian, as detection reads it
    source.write_text(
        "".join(json.dumps({"text": h, "lang": g}) + "\n" for h, g in zip(NEWS[:4], given, strict=True))
    )
    assert [g for _, g in read_headlines(source)] == ["ro", None, "MS", None]
    detected = tiny_scorer.languages(NEWS[:4])
    expected = ["ro", detected[1], "id", detected[3]]
    out = tmp_path / "langs-out.jsonl"
    score_file(tiny_scorer, source, out, progress=False)
    assert [json.loads(line)["lang"] for line in out.read_text().splitlines()] == expected
    table_out = tmp_path / "langs-out.parquet"
    score_file(tiny_scorer, source, table_out, progress=False)
    table = pq.read_table(table_out)
    assert table.column("lang").to_pylist() == expected and table.column_names[-2:] == ["lang", "validated"]
    bad = tmp_path / "bad-lang.jsonl"
    bad.write_text(json.dumps({"text": "x", "lang": 7}) + "\n")
    with pytest.raises(BulkError, match="bad-lang.jsonl:1: the lang"):
        list(read_headlines(bad))


@pytest.mark.slow
def test_score_command_streams_a_file_with_the_default_model(tmp_path: Path) -> None:
    source = _inputs(tmp_path)[1]
    out = tmp_path / "scores.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "score", "--input", str(source), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["headline"] for r in rows] == HEADLINES
    assert [r["label"] for r in rows[:2]] == ["news", "news"] and rows[-2]["label"] == "clickbait"
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "score",
            "--input",
            str(source),
            "--output",
            str(out),
            "--resume",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert again.returncode == 0 and '"scored": 0' in again.stderr


def test_parquet_in_and_out_keeps_the_input_columns(tiny_scorer: Scorer, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    expected = [p.score for p in tiny_scorer.score(HEADLINES)]
    source = tmp_path / "in.parquet"
    ids = pa.array(range(len(HEADLINES)), pa.int32())
    when = pa.array([f"2026-11-{i % 28 + 1:02d}" for i in range(len(HEADLINES))])
    pq.write_table(pa.table({"id": ids, "text": HEADLINES, "published": when}), source, row_group_size=5)
    assert [h for h, _ in read_headlines(source)] == HEADLINES
    for path in [source, *_inputs(tmp_path)]:
        out = tmp_path / f"{path.stem}-{path.suffix[1:]}-out.parquet"
        assert score_file(tiny_scorer, path, out, progress=False) == (0, len(HEADLINES)), path.name
        table = pq.read_table(out)
        kept = {".parquet": ["id", "text", "published"], ".jsonl": ["id", "headline"]}
        kept |= {".csv": ["source", "text"], ".txt": ["headline"]}
        assert table.column_names == [*kept[path.suffix], "score", "label", "lang", "validated"], path.name
        assert (
            table.column(kept[path.suffix][-1 if path.suffix != ".parquet" else 1]).to_pylist() == HEADLINES
        )
        assert table.column("score").to_pylist() == pytest.approx(expected, abs=1e-6)
    assert pq.read_table(tmp_path / "in-parquet-out.parquet").schema.field("id").type == pa.int32()
    out = tmp_path / "in-jsonl.jsonl"  # Parquet in, JSONL out: the usual lines
    score_file(tiny_scorer, source, out, progress=False)
    assert [json.loads(line)["headline"] for line in out.read_text().splitlines()] == HEADLINES


def test_parquet_output_is_whole_or_absent(tiny_scorer: Scorer, tmp_path: Path) -> None:
    source, out = _inputs(tmp_path)[0], tmp_path / "out.parquet"
    source.write_text(source.read_text() + "not json\n")
    with pytest.raises(BulkError, match="not JSON"):
        score_file(tiny_scorer, source, out, progress=False)
    assert list(tmp_path.glob("*out.parquet*")) == []  # neither a torn file nor its staging copy
    with pytest.raises(BulkError, match="not resumed"):
        score_file(tiny_scorer, source, out, resume=True, progress=False)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "a"}\n{"text": "b", "extra": 1}\n')
    tables = read_tables(mixed, 1)
    assert next(tables).column_names == ["text"]
    with pytest.raises(BulkError, match="have fields they did not"):
        next(tables)
