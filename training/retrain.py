"""Retraining on editors' labels: train a candidate, check its int8 form, judge it beside the current
model on the same rows, and say whether it may replace it.

The candidate starts from the current model (or from the base with ``from_base``) and sees the new
labels as a fixed share of every batch beside a replayed sample of the original training files, so
that a few hundred labels matter without the rest being forgotten. A fixed, salted hold-out of the
labels never reaches training; with the configured evaluation files it is what both models are
judged on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from classifier.artifact import read_manifest
from classifier.bundled import file_sha256
from classifier.scorer import Scorer
from classifier.text import dedup_key
from training.config import RetrainSettings, TrainConfig
from training.data import (
    DataError,
    DataFile,
    Dataset,
    Example,
    dataset_name,
    load_dataset,
    read_file,
    split_holdout,
)
from training.metrics import classification_metrics
from training.quantize import quantize_artifact
from training.trainer import Progress, TrainResult, train

JUDGE_SALT = "judge:"


@dataclass
class Judgement:
    """The comparison that decides a promotion; stored with the job and in the registry."""

    promote: bool
    reason: str
    current: dict[str, Any]
    candidate: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "current": self.current,
            "candidate": self.candidate,
            "rows": self.rows,
        }


def check_label_count(count: int, settings: RetrainSettings) -> None:
    if count < settings.min_labels:
        raise DataError(f"{count} labelled headlines stored; a retrain needs at least {settings.min_labels}")


def split_labels(labels: list[Example], settings: RetrainSettings) -> tuple[list[Example], list[Example]]:
    """(labels to train on, labels to judge on); the judging part is fixed by each headline's hash."""
    check_label_count(len(labels), settings)
    train_part, judge_part = split_holdout(labels, settings.holdout, "text", salt=JUDGE_SALT)
    if not judge_part or not train_part:
        raise DataError(f"the {len(labels)} labels leave nothing to train on or to judge with; add labels")
    return train_part, judge_part


def training_set(
    labels_file: Path, train_labels: list[Example], settings: RetrainSettings, from_base: bool
) -> Dataset:
    """The new labels plus the replayed rows (all of them for a retrain from the base)."""
    files = [DataFile(name=labels_file.name, sha256=file_sha256(labels_file), rows=len(train_labels))]
    replay: list[Example] = []
    if settings.replay_data:
        replayed = load_dataset([Path(p) for p in settings.replay_data])
        relabelled = {dedup_key(e.text) for e in train_labels}
        replay = [e for e in replayed.examples if dedup_key(e.text) not in relabelled]
        if not from_base and len(replay) > settings.replay_rows:
            picked = np.random.default_rng(settings.seed).choice(
                len(replay), settings.replay_rows, replace=False
            )
            replay = [replay[i] for i in sorted(picked)]
        files += replayed.files
    return Dataset(train_labels + replay, files)


def retrain(
    current: Path,
    labels_file: Path,
    out: Path,
    settings: RetrainSettings,
    *,
    from_base: bool = False,
    version: str | None = None,
    progress: Progress | None = None,
    stage: Callable[[str], None] | None = None,
) -> tuple[TrainResult, Judgement]:
    """Train a candidate into ``out``, check its int8 form (``settings.quantize``; a retrained model
    would otherwise be served by the fp32 engine until ``clickbait quantize`` ran on it) and judge
    it against ``current``; ``progress`` hears of training steps, ``stage`` of the steps after."""
    labels = read_file(labels_file)
    train_labels, judge_labels = split_labels(labels, settings)
    dataset = training_set(labels_file, train_labels, settings, from_base)
    manifest = read_manifest(current)
    steps = settings.base_steps if from_base else settings.steps
    lora = manifest.lora
    config = TrainConfig(
        data=[labels_file, *settings.replay_data],
        out=out,
        base=manifest.base.name,
        method=manifest.method,
        init_from=None if from_base else current,
        epochs=1,
        samples_per_epoch=steps * settings.batch_size,
        batch_size=settings.batch_size,
        max_length=settings.max_length,
        lr=settings.lr,
        **({"lora_r": lora.r, "lora_alpha": lora.alpha, "lora_targets": lora.target_modules} if lora else {}),
        file_shares={dataset_name(labels_file): settings.label_share} if settings.replay_data else {},
        holdout_fraction=0.1,
        eval_every=max(1, steps // 4),
        patience=2,
        max_eval_rows=1000,
        seed=settings.seed,
    )
    result = train(config, dataset, progress=progress, version=version)
    say = stage or (lambda _message: None)
    if settings.quantize:  # before judging: both models are then judged in the form `auto` serves
        say("checking the candidate's int8 form")
        spec = quantize_artifact(
            result.out, config.model_copy(update={"eval_data": [Path(p) for p in settings.eval_data]})
        )
        result = replace(result, manifest=result.manifest.model_copy(update={"int8": spec}))
    say("judging the candidate")
    evaluation = [e for p in settings.eval_data for e in read_file(Path(p))]
    judgement = judge(
        Scorer.load(current), Scorer.load(result.out), judge_labels, evaluation, settings.margin
    )
    return result, judgement


def judge(
    current: Scorer, candidate: Scorer, own: list[Example], evaluation: list[Example], margin: float
) -> Judgement:
    """Promote when macro-F1 on the whole evaluation set drops by at most ``margin`` and accuracy on
    the held-out labels rises; each model decides at its own threshold."""
    rows = own + evaluation
    labels = np.array([e.label for e in rows])
    reports = {}
    for name, scorer in (("current", current), ("candidate", candidate)):
        probs = scorer.probabilities([e.text for e in rows])
        whole = classification_metrics(labels, probs, scorer.threshold)
        mine = classification_metrics(labels[: len(own)], probs[: len(own)], scorer.threshold)
        reports[name] = {
            "version": scorer.version,
            "engine": scorer.engine,
            "macro_f1": round(whole["macro_f1"], 4),
            "label_accuracy": round(mine["accuracy"], 4),
            "threshold": scorer.threshold,
        }
    cur, cand = reports["current"], reports["candidate"]
    f1_ok = cand["macro_f1"] >= cur["macro_f1"] - margin
    gained = cand["label_accuracy"] > cur["label_accuracy"]
    reasons = []
    if not f1_ok:
        reasons.append(
            f"macro-F1 fell from {cur['macro_f1']:.3f} to {cand['macro_f1']:.3f}, "
            f"more than the margin {margin}"
        )
    if not gained:
        reasons.append(
            f"held-out label accuracy did not improve ({cur['label_accuracy']:.3f} → "
            f"{cand['label_accuracy']:.3f})"
        )
    reason = "; ".join(reasons) or (
        f"held-out label accuracy {cur['label_accuracy']:.3f} → {cand['label_accuracy']:.3f}, "
        f"macro-F1 {cur['macro_f1']:.3f} → {cand['macro_f1']:.3f} (margin {margin})"
    )
    return Judgement(
        f1_ok and gained, reason, cur, cand, {"held_out_labels": len(own), "evaluation_rows": len(evaluation)}
    )
