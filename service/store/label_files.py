"""Labels in bulk: ``clickbait labels import FILE`` and ``clickbait labels export``.

An import reads a JSONL or CSV file (``text`` or ``headline``, ``label`` = news|clickbait|0|1,
optional ``lang`` and ``source``), checks every row before storing any — a bad row is named by
``file:line`` — and stores them all in one transaction, so a file is stored whole or not at all.
An export writes the label that counts for each headline (``LabelStore.training_rows``), in the
format ``clickbait train`` and an import read.
"""

from __future__ import annotations

from pathlib import Path

from classifier.language import UNDETERMINED
from service.store.label_store import MAX_LANG_CHARS, MAX_SOURCE_CHARS, LabelStore, NewLabel
from training.data import LABELS, DataError, read_file


def read_labels(path: Path, max_chars: int) -> list[NewLabel]:
    """Every row of ``path`` as a label, or DataError naming the first bad row; the rows meet the
    same limits as ``POST /v1/labels`` (no NUL, which PostgreSQL cannot store; lang and source
    lengths)."""
    labels = []
    for number, e in enumerate(read_file(path, max_chars), 1):
        lang = None if e.lang == UNDETERMINED else e.lang
        for name, value, limit in (("lang", lang, MAX_LANG_CHARS), ("source", e.source, MAX_SOURCE_CHARS)):
            if value is not None and len(value) > limit:
                raise DataError(
                    f"{path}: row {number}: {name!r} has {len(value)} characters; at most {limit}"
                )
        if any("\x00" in (value or "") for value in (e.text, lang, e.source)):
            raise DataError(f"{path}: row {number}: contains a NUL character, which cannot be stored")
        labels.append(NewLabel(e.text, LABELS[e.label], lang, e.source))
    return labels


def import_labels(store: LabelStore, path: Path, author: str, max_chars: int) -> tuple[int, int]:
    """Store the file's labels (all or none); (stored, conflicting with an earlier label)."""
    labels = read_labels(path, max_chars)
    ids, conflicts = store.add(labels, author)
    return len(ids), len(conflicts)
