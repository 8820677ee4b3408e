"""The kind heads: which kind of teaser a headline is (bait, tabloid), read from the pooled vector
the teaser head reads, so that one forward pass gives all three scores.

Each head is a logistic regression on the trained encoder's embeddings, fitted on the rows whose
files say that kind or its absence (``Example.kind``, docs/teasers.md):

- bait: the clickbait sets' rows (their teasers are bait: public sets label only that notion) and
  every news row;
- tabloid: the genre sets' rows, tabloid against hard news (a clickbait set's news row may well be
  celebrity news that does not mislead, so it says nothing about this kind).

The teaser score stays the product's one calibrated decision; the kinds say why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.scorer import Scorer
from training.data import DataError, Example

if TYPE_CHECKING:
    from classifier.artifact import Manifest
    from training.config import TrainConfig

KIND_NAMES = ("bait", "tabloid")


def kind_target(example: Example, kind: str) -> int | None:
    """1 or 0 where the row's file says whether it is of ``kind``; None where it does not."""
    if example.kind == "news" or (example.kind is None and example.label == 0):
        return 0 if kind == "bait" or example.kind == "news" else None
    if kind == "bait":
        return 1 if example.kind in (None, "bait") else None
    return 1 if example.kind == "tabloid" else None


def has_kinds(rows: Sequence[Example]) -> bool:
    """Whether the rows can fit both heads: some say tabloid or not, beside teasers of bait sets."""
    return all(len({kind_target(e, kind) for e in rows} - {None}) == 2 for kind in KIND_NAMES)


def sample_per_cell(
    rows: Sequence[Example], kind: str, per_cell: int, seed: int
) -> tuple[list[int], np.ndarray]:
    """Row indices and targets for ``kind``: at most ``per_cell`` of each (file, target) cell, so a
    large file does not drown a small language."""
    cells: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, e in enumerate(rows):
        target = kind_target(e, kind)
        if target is not None:
            cells[(e.file, target)].append(i)
    rng = np.random.default_rng(seed)
    picked: list[int] = []
    for key in sorted(cells):
        where = cells[key]
        picked.extend(sorted(rng.choice(where, size=min(per_cell, len(where)), replace=False).tolist()))
    targets = np.array([kind_target(rows[i], kind) for i in picked], dtype=np.int64)
    return picked, targets


def fit_kinds(
    scorer: Scorer, rows: Sequence[Example], per_cell: int = 1500, seed: int = 0, c: float = 1.0
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(weight [kinds, hidden], bias [kinds], a report) of one logistic regression per kind."""
    from sklearn.linear_model import LogisticRegression

    if not has_kinds(rows):
        raise DataError(
            "the kind heads need rows that say bait (a clickbait set's teasers) and rows that say "
            "tabloid or news (a genre set's kind column): docs/teasers.md"
        )
    samples = {kind: sample_per_cell(rows, kind, per_cell, seed) for kind in KIND_NAMES}
    needed = sorted({i for picked, _ in samples.values() for i in picked})
    vectors = dict(zip(needed, scorer.embeddings([rows[i].text for i in needed]), strict=True))
    weights, biases, report = [], [], {}
    for kind in KIND_NAMES:
        picked, targets = samples[kind]
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        model.fit(np.stack([vectors[i] for i in picked]), targets)
        weights.append(model.coef_[0])
        biases.append(model.intercept_[0])
        report[kind] = {"rows": len(picked), "positive": int(targets.sum()), "c": c}
    return np.stack(weights).astype(np.float32), np.array(biases, dtype=np.float32), report


def kinds_artifact(model_dir: Path, config: TrainConfig, per_cell: int = 1500) -> Manifest:
    """Fit the kind heads of an existing model on its recipe's training rows (fp32 embeddings) and
    write them beside its teaser head; the teaser's weights, calibration and int8 section stay."""
    from classifier.artifact import KINDS_FILE, read_manifest, write_manifest
    from classifier.settings import get_settings
    from training.data import load_dataset, split_holdout

    scorer = Scorer.load(model_dir, get_settings().model_copy(update={"engine": "fp32"}))
    train_rows, _ = split_holdout(
        load_dataset(config.data).examples, config.holdout_fraction, config.holdout_by
    )
    weight, bias, report = fit_kinds(scorer, train_rows, per_cell, config.seed)
    save_kinds(model_dir / KINDS_FILE, weight, bias)
    manifest = read_manifest(model_dir)
    training = {**manifest.training, "kinds": report}
    manifest = manifest.model_copy(update={"kinds": list(KIND_NAMES), "training": training})
    write_manifest(model_dir, manifest)
    return manifest


def save_kinds(path: Path, weight: np.ndarray, bias: np.ndarray) -> None:
    """The heads as ``HeadlineClassifier.kinds`` stores them (``weight`` [kinds, hidden], ``bias``)."""
    from safetensors.numpy import save_file

    staging = path.with_name(f".{path.name}.tmp")
    save_file({"weight": weight, "bias": bias}, str(staging))
    staging.chmod(0o644)
    staging.replace(path)
