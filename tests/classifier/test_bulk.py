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
from classifier.bulk import BulkError, completed_records, read_headlines, score_file
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer
from tests.support.data import CLICKBAIT, NEWS

HEADLINES = NEWS + CLICKBAIT


@pytest.fixture(scope="module")
def tiny_scorer(tiny_base) -> Scorer:
    base = resolve_base(str(tiny_base))
    manifest = Manifest(version="t", base=BaseRef(name=base.name, sha256=base.sha256), method="full")
    return Scorer(HeadlineClassifier(load_encoder(base.path)), load_tokenizer(base.path), manifest)


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
        assert list(read_headlines(path)) == HEADLINES, path.name
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
