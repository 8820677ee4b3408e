"""Bulk scoring of headline files: streamed in chunks, resumable, JSONL or Parquet out.

Input: JSONL (a ``text`` or ``headline`` field per line), CSV (a ``text`` or ``headline`` column),
Parquet (the same column) or plain text (one headline per non-blank line); a ``lang`` field or
column, where a record has one, names its language (else it is detected). JSONL output: one JSON
object per input record, in input order, ``{"headline", "score", "label", "lang", "validated"}``
as ``clickbait score`` prints; each chunk is appended and flushed before the next is read, so
memory stays bounded by the chunk and an interrupted run can resume: the output's complete lines
are the records already done (a torn last line is cut off). Parquet output: the input's columns
(a text file's: ``headline``) plus ``score``, ``label``, ``lang`` (the language used) and
``validated``, a row group per chunk, written under a temporary name and renamed when whole (a
Parquet file is unreadable until its footer is written, so it is not resumed: an interrupted run
starts again; ``classifier.sharded`` resumes shard by shard).
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
LANG = "lang"  # optional: the record's language, which wins over detection
SCORED = ("score", "label", "lang", "validated")  # the columns scoring adds (replacing any so named)
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")  # one JSON object per line, whatever the name
CHUNK = 4096  # headlines sorted by length together: enough for tight length buckets, little memory


class BulkError(ClickbaitError, ValueError):
    """An input or output file that cannot be used; the message says where and why."""

    error_type = ErrorType.validation_error


def read_headlines(path: Path) -> Iterator[tuple[str, str | None]]:
    """The file's (headline, language or None) pairs in order, one per record, read lazily."""
    if path.suffix.lower() == ".parquet":
        for table in read_tables(path, CHUNK):
            yield from zip(headlines_of(table, str(path)), langs_of(table), strict=True)
        return
    for record in read_records(path):
        yield record[_field(list(record), str(path))] or "", record.get(LANG) or None


def read_records(path: Path) -> Iterator[dict]:
    """The file's records in order (``numbered_records``), each checked for a headline, read lazily."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        _field(csv_header(path), f"{path}: the CSV header")
    for number, record in numbered_records(path):
        if suffix in JSON_SUFFIXES:
            _check_json_record(record, f"{path}:{number}")
        yield record


def numbered_records(path: Path) -> Iterator[tuple[int, dict]]:
    """The one reader of headline files (bulk scoring and training's labelled files alike): each
    record in order with the line it ends on, read lazily. JSONL: one object per non-blank line;
    CSV: a row per record, every value as text (a headline such as "1984" stays text), the header
    being line 1; anything else: each non-blank line as ``headline``. A byte-order mark, which
    spreadsheets write, is skipped. Raises BulkError, naming the line, where a JSONL line is not a
    JSON object; the fields are the caller's to check."""
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8-sig", newline="" if suffix == ".csv" else None) as handle:
        if suffix == ".csv":
            reader = csv.DictReader(handle)
            yield from ((reader.line_num, record) for record in reader)
            return
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            if suffix in JSON_SUFFIXES:
                yield number, _json_object(line, f"{path}:{number}")
            else:
                yield number, {"headline": line.rstrip("\r\n")}


def csv_header(path: Path) -> list[str]:
    """A CSV file's column names (none for an empty file)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle), [])


def read_tables(path: Path, size: int):  # -> Iterator[pyarrow.Table]
    """The file as Arrow tables of at most ``size`` records, read lazily: Parquet a batch at a time,
    the other formats a chunk of records at a time, all chunks with the first chunk's columns."""
    import pyarrow as pa

    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            source = pq.ParquetFile(path)
        except pa.ArrowException as exc:
            raise BulkError(f"{path}: not a Parquet file ({exc})") from exc
        _field(source.schema_arrow.names, f"{path}: the Parquet schema")
        for batch in source.iter_batches(batch_size=size):
            yield pa.Table.from_batches([batch])
        return
    schema = None
    for number, chunk in enumerate(chunks(read_records(path), size)):
        if schema is None:
            table = pa.Table.from_pylist(chunk)
            schema = table.schema
        else:
            extra = {key for record in chunk for key in record} - set(schema.names)
            if extra:
                raise BulkError(
                    f"{path}: records after the first {number * size} have fields they did not: "
                    f"{sorted(extra)[:5]} (Parquet output keeps one set of columns)"
                )
            table = pa.Table.from_pylist(chunk, schema=schema)
        yield table


def headlines_of(table, where: str) -> list[str]:
    """The ``text`` (else ``headline``) column of an Arrow table; nulls read as empty headlines."""
    return ["" if h is None else h for h in table.column(_field(table.column_names, where)).to_pylist()]


def langs_of(table) -> list[str | None]:
    """The ``lang`` column of an Arrow table where it has one (nulls and blanks: detect)."""
    if LANG not in table.column_names:
        return [None] * table.num_rows
    return [v if isinstance(v, str) and v.strip() else None for v in table.column(LANG).to_pylist()]


def _field(names: list[str], where: str) -> str:
    for name in FIELDS:
        if name in names:
            return name
    raise BulkError(f"{where} has no 'text' or 'headline' field")


def _json_object(line: str, where: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BulkError(f"{where}: not JSON ({exc.msg})") from exc
    if not isinstance(record, dict):
        raise BulkError(f"{where}: expected a JSON object, got {type(record).__name__}")
    return record


def _check_json_record(record: dict, where: str) -> None:
    if not isinstance(record[_field(list(record), where)], str):
        raise BulkError(f"{where}: the headline is not a string")
    if not isinstance(record.get(LANG) or "", str):
        raise BulkError(f"{where}: the lang is not a string")


def chunks(items: Iterator, size: int) -> Iterator[list]:
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


def scored_table(scorer: Scorer, table, threshold: float | None = None, where: str = "input"):
    """``table`` with the ``SCORED`` columns (any it had under those names replaced)."""
    import pyarrow as pa

    predictions = scorer.score(headlines_of(table, where), threshold=threshold, langs=langs_of(table))
    table = table.drop_columns([n for n in (*SCORED, *scorer.kinds) if n in table.column_names])
    columns = {
        "score": pa.array([round(p.score, 6) for p in predictions], pa.float64()),
        "label": pa.array([p.label for p in predictions], pa.string()),
        "lang": pa.array([p.lang for p in predictions], pa.string()),
        "validated": pa.array([p.validated for p in predictions], pa.bool_()),
    } | {
        kind: pa.array([(p.kinds or {}).get(kind) for p in predictions], pa.float64())
        for kind in scorer.kinds
    }
    for name, column in columns.items():
        table = table.append_column(name, column)
    return table


def score_to_parquet(
    scorer: Scorer, source: Path, output: Path, threshold: float | None = None, progress: bool = True
) -> int:
    """Score ``source`` into the Parquet file ``output`` (the input's columns, ``score``, ``label``),
    a row group per chunk; ``output`` appears whole or not at all. Returns the records scored."""
    import pyarrow.parquet as pq

    staging = output.with_name(f".{output.name}.partial")
    writer, scored = None, 0
    try:
        with tqdm(desc=f"scoring {source.name}", unit=" headlines", disable=not progress) as bar:
            for table in read_tables(source, CHUNK):
                table = scored_table(scorer, table, threshold, str(source))
                writer = writer or pq.ParquetWriter(staging, table.schema)
                writer.write_table(table)
                scored += table.num_rows
                bar.update(table.num_rows)
            if writer is None:  # an empty input: its columns are not known, only ours
                import pyarrow as pa

                types = (pa.float64(), pa.string(), pa.string(), pa.bool_())
                writer = pq.ParquetWriter(staging, pa.schema(list(zip(SCORED, types, strict=True))))
        writer.close()
        staging.replace(output)
    finally:
        if writer is not None:
            writer.close()
        staging.unlink(missing_ok=True)
    return scored


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
    if output.suffix.lower() == ".parquet":
        if resume:
            raise BulkError(f"{output}: Parquet output is written whole, not resumed (write JSONL to resume)")
        if output.exists():
            raise BulkError(f"{output} exists: remove it to score again")
        return 0, score_to_parquet(scorer, source, output, threshold, progress)
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
            headlines, langs = zip(*chunk, strict=True)
            lines = [
                json.dumps(p.record(), ensure_ascii=False) + "\n"
                for p in scorer.score(headlines, threshold=threshold, langs=langs)
            ]
            out.write("".join(lines))
            out.flush()
            scored += len(chunk)
            bar.update(len(chunk))
    return done, scored
