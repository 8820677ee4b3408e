"""Bulk scoring of headline files: streamed in chunks, written as JSONL, resumable.

Input: JSONL (a ``text`` or ``headline`` field per line), CSV (a ``text`` or ``headline`` column) or
plain text (one headline per non-blank line). Output: one JSON object per input record, in input
order, ``{"headline", "score", "label"}`` as ``clickbait score`` prints. Each chunk is appended and
flushed before the next is read, so memory stays bounded by the chunk and an interrupted run can
resume: the output's complete lines are the records already done (a torn last line is cut off).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from tqdm.auto import tqdm

from classifier.errors import ClickbaitError, ErrorType
from classifier.scorer import Scorer

FIELDS = ("text", "headline")
CHUNK = 4096  # headlines sorted by length together: enough for tight length buckets, little memory


class BulkError(ClickbaitError, ValueError):
    """An input or output file that cannot be used; the message says where and why."""

    error_type = ErrorType.validation_error


def read_headlines(path: Path) -> Iterator[str]:
    """The file's headlines in order, one per record, read lazily."""
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8", newline="" if suffix == ".csv" else None) as handle:
        if suffix == ".csv":
            reader = csv.DictReader(handle)
            field = _field(reader.fieldnames or [], f"{path}: the CSV header")
            for row in reader:
                yield row[field] or ""
        elif suffix in (".jsonl", ".ndjson", ".json"):
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield _json_headline(line, f"{path}:{number}")
        else:
            yield from (line.rstrip("\r\n") for line in handle if line.strip())


def _field(names: list[str], where: str) -> str:
    for name in FIELDS:
        if name in names:
            return name
    raise BulkError(f"{where} has no 'text' or 'headline' field")


def _json_headline(line: str, where: str) -> str:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BulkError(f"{where}: not JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise BulkError(f"{where}: expected a JSON object")
    value = record[_field(list(record), where)]
    if not isinstance(value, str):
        raise BulkError(f"{where}: the headline is not a string")
    return value


def chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of ``size`` items (the last may be shorter); itertools.batched is 3.12+."""
    while chunk := list(islice(items, size)):
        yield chunk


def completed_records(output: Path) -> int:
    """Complete lines already in ``output``; a torn last line (no newline) is truncated away."""
    if not output.exists():
        return 0
    count, end = 0, 0
    with output.open("rb") as handle:
        for line in handle:
            if line.endswith(b"\n"):
                count, end = count + 1, end + len(line)
    if end != output.stat().st_size:
        with output.open("r+b") as handle:
            handle.truncate(end)
    return count


def score_file(
    scorer: Scorer,
    source: Path,
    output: Path,
    resume: bool = False,
    threshold: float | None = None,
    progress: bool = True,
) -> tuple[int, int]:
    """Score ``source`` into ``output``; returns (records skipped as already done, records scored)."""
    if not source.is_file():
        raise BulkError(f"{source}: no such file")
    if output.exists() and output.stat().st_size and not resume:
        raise BulkError(f"{output} exists: pass --resume to continue it, or remove it")
    done = completed_records(output) if resume else 0
    scored = 0
    with (
        output.open("a" if resume else "w", encoding="utf-8") as out,
        tqdm(
            desc="scoring",
            unit=" headlines",
            initial=done,
            disable=not progress,
            dynamic_ncols=True,
        ) as bar,
    ):
        for chunk in chunks(islice(read_headlines(source), done, None), CHUNK):
            lines = [
                json.dumps(
                    {"headline": p.headline, "score": round(p.score, 6), "label": p.label}, ensure_ascii=False
                )
                + "\n"
                for p in scorer.score(chunk, threshold=threshold)
            ]
            out.write("".join(lines))
            out.flush()
            scored += len(chunk)
            bar.update(len(chunk))
    return done, scored
