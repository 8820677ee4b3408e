"""The kind heads: which kind of teaser a headline is, read in the same forward pass as the
teaser head, from its pooled vector or from an earlier layer's (``kinds_layer``).

Bait needs no head of its own: the teaser head learnt that notion from the clickbait sets (public
sets label nothing else), and its calibrated probability is the ``bait`` score (``Scorer.kinds``).
A kind head scores what those labels miss: tabloid, a logistic regression on the trained encoder's
embeddings, fitted on the genre sets' rows, tabloid against hard news (``Example.kind``,
docs/teasers.md; a clickbait set's news row may well be celebrity news that does not mislead, so it
says nothing about this kind).

The teaser score stays the product's one calibrated decision; the kinds say why, and those in
``kinds_in_score`` raise it (a teaser is bait or tabloid).

Centred heads (``kinds_centred``) read the vector less its language's mean: the mean of that
language's headlines in the clickbait sets (rows with no kind column, both labels; no labels are
read), or for a language with none, the mean of the languages' means. A genre set in one language
then teaches genre rather than that language, and the operating point carries over to languages
with no genre rows (docs/results/2026-12-06-kinds-centred.md). Served, the mean's share is an offset
per language on each kind's logit (``Manifest.kinds_offsets``).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.language import UNDETERMINED
from classifier.scorer import Scorer
from training.data import DataError, Example, random_rows

if TYPE_CHECKING:
    from classifier.artifact import DataFile, Manifest
    from training.config import TrainConfig

KIND_NAMES = ("tabloid",)  # the kind heads fitted here; bait is the teaser head's (Scorer.kinds)
MEAN_ROWS = 1000  # headlines per language that its mean vector is taken over


@dataclass(frozen=True)
class KindHeads:
    """Fitted kind heads: weight [kinds, hidden], bias [kinds], the language offsets (empty unless
    centred) and a report for the manifest."""

    weight: np.ndarray
    bias: np.ndarray
    offsets: dict[str, list[float]]
    report: dict


def kind_target(example: Example, kind: str) -> int | None:
    """1 or 0 where the row's file says whether it is of ``kind``; None where it does not."""
    if example.kind == "news":
        return 0
    return 1 if example.kind == kind else None


def has_kinds(rows: Sequence[Example]) -> bool:
    """Whether the rows can fit every kind head: some rows of each kind and some that say news."""
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


def kind_rows(
    config: TrainConfig, train_rows: Sequence[Example], held_out: Sequence[Example]
) -> tuple[list[Example], list[Example], list[DataFile]]:
    """(rows the kind heads are fitted on, rows that place their operating point, the files that
    fit the kinds alone): the teaser head's training and validation rows, each with that part of
    ``kinds_data`` (split as the others: their validation rows are never fitted on)."""
    from training.data import load_dataset, split_holdout
    from training.sources import data_licence

    if not config.kinds_data:
        return list(train_rows), list(held_out), []
    dataset = load_dataset(config.kinds_data)
    extra, extra_held_out = split_holdout(dataset.examples, config.holdout_fraction, config.holdout_by)
    files = [f.model_copy(update={"licence": data_licence(f.name)}) for f in dataset.files]
    return [*train_rows, *extra], [*held_out, *extra_held_out], files


def fit_kinds(
    scorer: Scorer,
    rows: Sequence[Example],
    per_cell: int = 1500,
    seed: int = 0,
    c: float = 1.0,
    layer: int | None = None,
    normalised: bool = False,
    held_out: Sequence[Example] = (),
    news_flagged: float | None = None,
    centred: bool = False,
) -> KindHeads:
    """One logistic regression per kind, on the pooled vector after ``layer`` encoder layers (None:
    the last), unit length if ``normalised``, less its language's mean if ``centred``.

    A balanced regression's even odds flag far more news than a reader expects once it meets
    languages it was not fitted in; given ``news_flagged``, each head's bias is moved so that it
    flags that share of the ``held_out`` rows that are not of its kind (its operating point, at
    P = 0.5)."""
    from sklearn.linear_model import LogisticRegression

    if not has_kinds(rows):
        raise DataError(
            "the kind heads need rows that say tabloid and rows that say news "
            "(a genre set's kind column): docs/teasers.md"
        )

    def embed(texts: list[str]) -> np.ndarray:
        embedded = scorer.embeddings(texts, layer=layer)
        if normalised:
            embedded /= np.maximum(np.linalg.norm(embedded, axis=-1, keepdims=True), 1e-12)
        return embedded

    means = language_means(rows, embed, seed) if centred else {}

    def vectors_of(examples: Sequence[Example], where: list[int]) -> dict[int, np.ndarray]:
        found = embed([examples[i].text for i in where])
        if means:
            found -= np.stack([means.get(examples[i].lang, means[UNDETERMINED]) for i in where])
        return dict(zip(where, found, strict=True))

    samples = {kind: sample_per_cell(rows, kind, per_cell, seed) for kind in KIND_NAMES}
    vectors = vectors_of(rows, sorted({i for picked, _ in samples.values() for i in picked}))
    others: dict[str, list[int]] = {}  # per kind, the held-out rows not of it: its operating point
    if news_flagged is not None:
        for kind in KIND_NAMES:
            checked, truth = sample_per_cell(held_out, kind, per_cell, seed)
            others[kind] = [i for i, t in zip(checked, truth, strict=True) if t == 0]
        held_vectors = vectors_of(held_out, sorted({i for where in others.values() for i in where}))
    weights, biases, report = [], [], {}
    for kind in KIND_NAMES:
        picked, targets = samples[kind]
        model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        model.fit(np.stack([vectors[i] for i in picked]), targets)
        weights.append(model.coef_[0])
        biases.append(model.intercept_[0])
        report[kind] = {
            "rows": len(picked),
            "positive": int(targets.sum()),
            "c": c,
            "layer": layer,
            "normalised": normalised,
            "centred": centred,
        }
        if news_flagged is not None:
            if not others[kind]:
                raise DataError(f"no validation rows that are not {kind} to place its operating point on")
            scores = model.decision_function(np.stack([held_vectors[i] for i in others[kind]]))
            cut = float(np.quantile(scores, 1 - news_flagged))
            biases[-1] -= cut
            report[kind] |= {
                "news_flagged": news_flagged,
                "bias_moved": round(-cut, 4),
                "news_rows": len(others[kind]),
            }
    weight = np.stack(weights).astype(np.float32)
    offsets = {lang: [round(float(v), 6) for v in -(weight @ mean)] for lang, mean in sorted(means.items())}
    return KindHeads(weight, np.array(biases, dtype=np.float32), offsets, report)


def language_means(
    rows: Sequence[Example], embed: Callable[[list[str]], np.ndarray], seed: int
) -> dict[str, np.ndarray]:
    """Each language's mean vector over at most ``MEAN_ROWS`` of its rows that carry no kind column
    (the clickbait sets' headlines, labels unread), and ``UNDETERMINED``: the mean of those means."""
    by_language: dict[str, list[Example]] = defaultdict(list)
    for e in rows:
        if e.kind is None:
            by_language[e.lang].append(e)
    means = {
        lang: embed([e.text for e in random_rows(found, MEAN_ROWS, seed)]).mean(axis=0)
        for lang, found in sorted(by_language.items())
    }
    if not means:
        raise DataError("centred kind heads need rows of the clickbait sets to take each language's mean on")
    return means | {UNDETERMINED: np.mean(list(means.values()), axis=0)}


def kinds_artifact(model_dir: Path, config: TrainConfig, per_cell: int = 1500) -> Manifest:
    """Fit the kind heads of an existing model on its recipe's training rows (fp32 embeddings) and
    write them beside its teaser head; the teaser's weights, calibration and int8 section stay."""
    from classifier.artifact import KINDS_FILE, read_manifest, write_manifest
    from training.calibration import row_languages
    from training.card import render_model_card
    from training.data import load_dataset, split_holdout
    from training.evaluate import model_metrics

    scorer = Scorer.load(model_dir, engine="fp32")
    train_rows, val_rows = split_holdout(
        load_dataset(config.data).examples, config.holdout_fraction, config.holdout_by
    )
    rows, held_out, files = kind_rows(config, train_rows, val_rows)
    heads = fit_kinds(scorer, rows, per_cell, config.seed, **kind_options(config, held_out))
    save_kinds(model_dir / KINDS_FILE, heads.weight, heads.bias)
    manifest = read_manifest(model_dir)
    manifest = manifest.model_copy(
        update={
            "version": kinds_version(manifest.version, model_dir / KINDS_FILE, heads.offsets),
            "kinds": list(KIND_NAMES),
            "kinds_layer": config.kinds_layer,
            "kinds_normalised": config.kinds_normalised,
            "kinds_in_score": config.kinds_in_score,
            "kinds_offsets": heads.offsets,
            "data": with_files(manifest.data, files),
            "training": {**manifest.training, "kinds": heads.report},
        }
    )
    if config.kinds_in_score:  # the scores change: measure them again, as served
        write_manifest(model_dir, manifest)
        scorer = Scorer.load(model_dir, engine="fp32")
        langs = row_languages(val_rows)
        manifest.metrics = model_metrics(scorer, val_rows, langs, config.eval_data)
    write_manifest(model_dir, manifest)
    (model_dir / "README.md").write_text(render_model_card(manifest))
    return manifest


def kinds_version(version: str, kinds_file: Path, offsets: dict[str, list[float]]) -> str:
    """A new name for a model whose kind heads changed: its scores did (the registry and every
    answer tell models apart by name)."""
    from classifier.artifact import dated_version

    digest = hashlib.sha256(version.encode() + kinds_file.read_bytes())
    digest.update(json.dumps(offsets, sort_keys=True).encode())
    return dated_version(digest)


def with_files(data: Sequence[DataFile], files: Sequence[DataFile]) -> list[DataFile]:
    """A manifest's training files, with those that fitted the kinds (once each)."""
    known = {f.name for f in data}
    return [*data, *(f for f in files if f.name not in known)]


def kind_options(config: TrainConfig, held_out: Sequence[Example]) -> dict:
    """``fit_kinds``' keyword arguments that the recipe sets."""
    return {
        "layer": config.kinds_layer,
        "normalised": config.kinds_normalised,
        "held_out": held_out,
        "news_flagged": config.kinds_news_flagged,
        "centred": config.kinds_centred,
    }


def save_kinds(path: Path, weight: np.ndarray, bias: np.ndarray) -> None:
    """The heads as ``HeadlineClassifier.kinds`` stores them (``weight`` [kinds, hidden], ``bias``)."""
    from safetensors.numpy import save_file

    staging = path.with_name(f".{path.name}.tmp")
    save_file({"weight": weight, "bias": bias}, str(staging))
    staging.chmod(0o644)
    staging.replace(path)
