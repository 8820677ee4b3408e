"""Labelled headline files: reading (JSONL/CSV through ``classifier.bulk``'s reader), validation,
de-duplication, deterministic hold-out splits, seeded subsets and language/class-balanced sampling
weights."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np

from classifier.artifact import LABELS, DataFile  # LABELS: index = the label's integer value
from classifier.bulk import JSON_SUFFIXES, BulkError, numbered_records
from classifier.bundled import file_sha256
from classifier.errors import ClickbaitError, ErrorType
from classifier.language import UNDETERMINED, language_code
from classifier.text import dedup_key, normalise_headline

# which kind of teaser a row is, where its file says (docs/teasers.md): bait and tabloid are teasers
KINDS = ("bait", "tabloid", "news")
LABEL_VALUES: dict[object, int] = {"news": 0, "clickbait": 1, "0": 0, "1": 1, 0: 0, 1: 1}
REQUIRED_COLUMNS = ("text", "label")
T = TypeVar("T")


class DataError(ClickbaitError, ValueError):
    """Bad input data; the message names the file and, where it can, the line."""

    error_type = ErrorType.validation_error


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 1 = clickbait
    lang: str
    source: str | None
    file: str  # file name without extension
    kind: str | None = None  # bait | tabloid | news where the file says; None: a teaser of either kind


@dataclass
class Dataset:
    """Examples ready for training, plus what was done to them on the way."""

    examples: list[Example]
    files: list[DataFile]
    duplicates_dropped: int = 0
    conflicts_dropped: int = 0
    per_file_rows: dict[str, int] = field(default_factory=dict)


def dataset_name(path: Path) -> str:
    return path.name.split(".")[0]


def read_file(path: Path, max_chars: int | None = None) -> list[Example]:
    """Read and validate one JSONL or CSV file through the headline-file reader
    (``classifier.bulk.numbered_records``; a ``headline`` column stands for ``text``; headlines
    over ``max_chars`` are refused); raise DataError on the first bad row, naming its line."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() not in (*JSON_SUFFIXES, ".csv"):
        raise DataError(f"{path}: unsupported file type {path.suffix.lower()!r} (use .jsonl or .csv)")
    try:
        records = list(numbered_records(path))
    except BulkError as exc:  # the reader's own wording, as a bad training file
        raise DataError(str(exc)) from exc
    columns = {key for _, record in records for key in record}
    for column in REQUIRED_COLUMNS:
        if records and column not in columns and not (column == "text" and "headline" in columns):
            raise DataError(f"{path}: missing column {column!r} (found: {sorted(columns)})")
    name = dataset_name(path)
    examples = [
        labelled_row(
            record if record.get("text") is not None else {**record, "text": record.get("headline")},
            f"{path}:{line}",
            name,
            max_chars,
        )
        for line, record in records
    ]
    if not examples:
        raise DataError(f"{path}: no rows")
    return examples


def labelled_row(row: dict, where: str, file_name: str, max_chars: int | None = None) -> Example:
    """One record (``text``, ``label``, optional ``lang``, ``source``, ``kind``) as a row of
    ``file_name``, validated and normalised; DataError names ``where`` (a file's line, a stored
    label)."""
    text = row.get("text")
    if not isinstance(text, str):
        raise DataError(f"{where}: 'text' must be a string, got {_describe(text)}")
    text = normalise_headline(text)
    if not text:
        raise DataError(f"{where}: 'text' is empty")
    if max_chars is not None and len(text) > max_chars:
        raise DataError(f"{where}: the headline has {len(text)} characters; the limit is {max_chars}")
    raw_label = row.get("label")
    label_key = raw_label.strip().lower() if isinstance(raw_label, str) else raw_label
    if isinstance(label_key, bool) or label_key not in LABEL_VALUES:
        raise DataError(f"{where}: unknown label {raw_label!r} (expected news, clickbait, 0 or 1)")
    lang = row.get("lang") or UNDETERMINED
    source = row.get("source") or None
    if not isinstance(lang, str) or (source is not None and not isinstance(source, str)):
        raise DataError(f"{where}: 'lang' and 'source' must be strings when given")
    lang = language_code(lang)  # as scoring names it: a file's "RO" fits the correction "ro" looks up
    label = LABEL_VALUES[label_key]
    kind = row.get("kind") or None
    if kind is not None and (kind not in KINDS or (kind == "news") != (label == 0)):
        raise DataError(
            f"{where}: kind {kind!r} does not fit label {LABELS[label]!r} "
            "(bait and tabloid are clickbait, news is news)"
        )
    return Example(text, label, lang, source, file_name, kind)


def _describe(value: object) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:60]


def load_dataset(paths: Sequence[Path]) -> Dataset:
    """Read all files (all validated before anything else happens), then de-duplicate."""
    examples: list[Example] = []
    files, per_file = [], {}
    for path in paths:
        rows = read_file(Path(path))
        examples.extend(rows)
        files.append(DataFile(name=Path(path).name, sha256=file_sha256(Path(path)), rows=len(rows)))
        per_file[dataset_name(Path(path))] = len(rows)
    kept, duplicates, conflicts = deduplicate(examples)
    return Dataset(kept, files, duplicates, conflicts, per_file)


def deduplicate(examples: Iterable[Example]) -> tuple[list[Example], int, int]:
    """Keep the first of each text; drop every copy of a text seen with both labels.

    Returns (kept, duplicates dropped, conflicting rows dropped).
    """
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[dedup_key(example.text)].append(example)
    kept, duplicates, conflicts = [], 0, 0
    for group in groups.values():
        if len({e.label for e in group}) > 1:
            conflicts += len(group)
        else:
            kept.append(group[0])
            duplicates += len(group) - 1
    return kept, duplicates, conflicts


def unit_hash(key: str) -> float:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hashed_rows(rows: Sequence[Example], limit: int, salt: str) -> list[Example]:
    """The ``limit`` rows whose text hashes lowest with ``salt``: the same rows on every machine,
    whatever the file's order (a benchmark's fixed sample)."""
    return sorted(rows, key=lambda e: unit_hash(salt + e.text))[:limit]


def split_holdout(
    examples: Sequence[Example], fraction: float, by: Literal["text", "source"] = "text", salt: str = ""
) -> tuple[list[Example], list[Example]]:
    """Deterministic (train, validation) split by a hash of the text or of the source.

    With ``by="source"`` whole sites go to validation, which measures generalisation to unseen
    sites; rows without a source fall back to their text hash. A ``salt`` draws a split independent
    of the unsalted one (retraining judges on labels that training's own hold-out does not pick).
    """
    train, held = [], []
    for example in examples:
        key = example.source if by == "source" and example.source else dedup_key(example.text)
        (held if unit_hash(f"{salt}{by}:{key}") < fraction else train).append(example)
    return train, held


def random_rows(rows: Sequence[T], limit: int, seed: int) -> list[T]:
    """At most ``limit`` of ``rows``, drawn uniformly without replacement with ``seed``, kept in their
    order; all of them where there are no more. Not stratified: the mix of languages and labels is
    kept only on average, which is what its callers (early stopping, replay, distillation, int8
    activation ranges) need of a fixed, reproducible subset."""
    if len(rows) <= limit:
        return list(rows)
    picked = np.random.default_rng(seed).choice(len(rows), size=limit, replace=False)
    return [rows[i] for i in sorted(picked)]


def sampling_weights(
    examples: Sequence[Example],
    lang_alpha: float = 0.5,
    lang_weights: dict[str, float] | None = None,
    file_shares: dict[str, float] | None = None,
    source_alpha: float = 1.0,
) -> np.ndarray:
    """Per-example probabilities: languages get mass ∝ rows**alpha, classes half of it each.

    alpha = 1 keeps the natural mix, alpha = 0 gives every language equal mass; ``lang_weights``
    multiplies a language's mass (e.g. 0.5 for a set whose labels follow the publisher).
    ``source_alpha`` does the same for the sources within a language's class (rows with no source
    are one source), so that one big outlet does not become the class.
    ``file_shares`` gives a file's rows a fixed share of the whole (balanced within it), so that a
    few hundred new labels weigh as much as chosen beside thousands of replayed rows.
    """
    shares = {
        name: share for name, share in (file_shares or {}).items() if any(e.file == name for e in examples)
    }
    if not shares:
        return _balanced_weights(examples, lang_alpha, lang_weights, source_alpha)
    groups: dict[str | None, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[e.file if e.file in shares else None].append(i)
    rest = max(0.0, 1.0 - sum(shares.values()))
    weights = np.zeros(len(examples), dtype=np.float64)
    for name, where in groups.items():
        part = _balanced_weights([examples[i] for i in where], lang_alpha, lang_weights, source_alpha)
        weights[where] = part * (shares[name] if name is not None else rest)
    return weights / weights.sum()


def _balanced_weights(
    examples: Sequence[Example],
    lang_alpha: float,
    lang_weights: dict[str, float] | None,
    source_alpha: float,
) -> np.ndarray:
    lang_counts = Counter(e.lang for e in examples)
    source_counts = Counter((e.lang, e.label, e.source) for e in examples)
    cell_counts: Counter[tuple[str, int]] = Counter()
    cell_mass: Counter[tuple[str, int]] = Counter()
    for (lang, label, _), n in source_counts.items():
        cell_counts[(lang, label)] += n
        cell_mass[(lang, label)] += n**source_alpha
    extra = lang_weights or {}
    lang_mass = {lang: n**lang_alpha * extra.get(lang, 1.0) for lang, n in lang_counts.items()}
    total = sum(lang_mass.values())
    weights = np.empty(len(examples), dtype=np.float64)
    for i, e in enumerate(examples):
        classes = sum(1 for label in (0, 1) if cell_counts[(e.lang, label)])
        n_source = source_counts[(e.lang, e.label, e.source)]
        source_share = n_source**source_alpha / cell_mass[(e.lang, e.label)]
        weights[i] = lang_mass[e.lang] / total / classes * source_share / n_source
    return weights / weights.sum()
