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
from service.store.label_store import LabelStore, NewLabel
from training.data import LABELS, read_file


def read_labels(path: Path, max_chars: int) -> list[NewLabel]:
    """Every row of ``path`` as a label, or DataError naming the first bad row."""
    return [
        NewLabel(e.text, LABELS[e.label], None if e.lang == UNDETERMINED else e.lang, e.source)
        for e in read_file(path, max_chars)
    ]


def import_labels(store: LabelStore, path: Path, author: str, max_chars: int) -> tuple[int, int]:
    """Store the file's labels (all or none); (stored, conflicting with an earlier label)."""
    labels = read_labels(path, max_chars)
    ids, conflicts = store.add(labels, author)
    return len(ids), len(conflicts)
