"""Distillation: a shallower student learns the teacher's soft scores, for users who need more speed.

The student is the teacher's own network cut to its first N encoder layers (LoRA already merged,
head kept), so it starts close to the teacher — or an earlier student, to go on from it
(``init_from``) — and trains all its weights (word embeddings frozen, as in ``method="full"``)
with BCE against the teacher's sigmoid(logit) on the recipe's training split, any unlabelled
headlines and variants of the training headlines of the languages named in ``augment``
(``training/augment.py``). Everything else — hold-out, early stopping on labelled
validation rows, temperature and threshold, the artifact — is ``training.trainer.train``, of which
``Distillation`` is an objective; the artifact is an ordinary ``full`` one whose manifest says how
many ``layers`` it keeps.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from classifier.artifact import FROZEN_PREFIX, ArtifactError, keep_layers
from classifier.base import ResolvedBase, resolve_base
from classifier.bulk import CHUNK, read_headlines
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer, calibrated
from classifier.settings import get_settings
from classifier.torch_backend import TorchBackend
from training.augment import variants
from training.config import TrainConfig
from training.data import DataError, Example, dedup_key, random_rows
from training.parallel import pick_device
from training.trainer import TrainResult, train

UNLABELLED = "unlabelled"  # file name of the rows the teacher labels; language of unlabelled headlines


@dataclass
class Distillation:
    """The student, its teacher and the extra headlines the teacher labels for it: the trainer's
    ``Objective`` for a student (its network, and the teacher's soft scores as targets)."""

    teacher: Scorer
    layers: int
    unlabelled: list[str] = field(default_factory=list)
    max_rows: int | None = None
    seed: int = 0
    augment: dict[str, int] = field(default_factory=dict)  # language → variants per training headline
    start: InitVar[HeadlineClassifier | None] = None  # whose first layers the student copies (the teacher's)
    added: dict[str, int] = field(default_factory=dict, init=False)  # rows added per language, once counted

    def __post_init__(self, start: HeadlineClassifier | None) -> None:
        self.student = student_of(self.teacher.network if start is None else start, self.layers)

    def build(self, config: TrainConfig) -> tuple[HeadlineClassifier, ResolvedBase]:
        """The student, on the teacher's base."""
        return self.student, resolve_base(config.base, get_settings().cache_dir)

    def rows_and_targets(
        self, labelled: list[Example], held_out: Sequence[Example] = ()
    ) -> tuple[list[Example], torch.Tensor]:
        """The rows to train on — at most ``max_rows`` of the training split, then the unlabelled
        headlines and the variants that are neither in it nor in ``held_out`` (the validation rows
        stay unseen) — and the teacher's uncalibrated sigmoid(logit) for each: what the student's
        logit should match.

        The added rows carry the teacher's hard label, which only the class-balanced sampler reads;
        variants keep their headline's language, so that the language weights count them.
        """
        rows = list(labelled) if self.max_rows is None else random_rows(labelled, self.max_rows, self.seed)
        extra = [(t, UNLABELLED) for t in self.unlabelled]
        for lang, per_text in self.augment.items():
            texts = [e.text for e in rows if e.lang == lang]
            if not texts:
                raise DataError(f"augment: no training headline is in language {lang!r}")
            extra += [(t, lang) for t in variants(texts, per_text, self.seed)]
        seen, unique = {dedup_key(e.text) for e in [*labelled, *held_out]}, []
        for text, lang in extra:
            key = dedup_key(text)
            if text.strip() and key not in seen:
                seen.add(key)
                unique.append((text, lang))
        self.added = dict(Counter(lang for _, lang in unique))
        logits = self._teacher_logits([e.text for e in rows] + [t for t, _ in unique])
        probs = calibrated(logits[len(rows) :], self.teacher.manifest.temperature)
        rows += [
            Example(t, int(p >= self.teacher.threshold), lang, None, UNLABELLED)
            for (t, lang), p in zip(unique, probs, strict=True)
        ]
        return rows, torch.as_tensor(calibrated(logits, 1.0), dtype=torch.float32)  # sigmoid(logit)

    def _teacher_logits(self, texts: list[str]) -> np.ndarray:
        """The teacher's logits, a chunk at a time behind a progress bar (the default recipe's rows
        take tens of minutes on 2 CPU cores); drawn by the main process only."""
        logits = np.empty(len(texts), dtype=np.float32)
        with tqdm(
            total=len(texts),
            desc="teacher scoring",
            unit="headline",
            dynamic_ncols=True,
            disable=os.environ.get("RANK", "0") != "0",
        ) as bar:
            for start in range(0, len(texts), CHUNK):
                chunk = texts[start : start + CHUNK]
                logits[start : start + len(chunk)] = self.teacher.logits(chunk)
                bar.update(len(chunk))
        return logits

    def record(self) -> dict:
        return {
            "distilled_from": self.teacher.version,
            "unlabelled_rows": len(self.unlabelled),
            "augment": self.augment,
            "added_rows": self.added,
        }


def student_of(network: HeadlineClassifier, layers: int) -> HeadlineClassifier:
    """A copy of ``network`` keeping its first ``layers`` encoder layers; word embeddings frozen."""
    student = copy.deepcopy(network)
    keep_layers(student.encoder, layers)
    for name, parameter in student.encoder.named_parameters():
        parameter.requires_grad = not name.startswith(FROZEN_PREFIX)
    for parameter in student.head.parameters():
        parameter.requires_grad = True
    return student


def distill(
    config: TrainConfig,
    teacher: str | Path,
    layers: int,
    unlabelled: Sequence[Path] = (),
    max_rows: int | None = None,
    augment: dict[str, int] | None = None,
) -> TrainResult:
    """Train and save a ``layers``-layer student of ``teacher`` with the recipe ``config``; it starts
    from the teacher's first layers, or ``config.init_from``'s (an earlier student, to go on)."""
    # trainable: the student is a copy of the teacher's network, trained with transformers' dropout
    scorer = Scorer.load(teacher, engine="fp32", trainable=True)
    if scorer.manifest.routing is not None:
        raise ArtifactError(
            f"{teacher} is routed (its own network for {', '.join(scorer.manifest.routing.languages)}, "
            "its fallback for other languages); a student copies one network: distil the fallback, "
            "or a model retrained with CLICKBAIT_RETRAIN_ROUTE_LANGUAGES=false"
        )
    device = pick_device(config.device)
    if device.type == "cuda":  # the teacher scores every row once: on this process's GPU, not the CPU
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        scorer = Scorer(
            TorchBackend(scorer.network.to(device)), scorer.tokenizer, scorer.manifest, scorer.settings
        )
    texts = [t for path in unlabelled for t, _ in read_headlines(Path(path))]
    for parameter in scorer.network.parameters():
        parameter.requires_grad = False
    plan = Distillation(
        scorer,
        layers,
        texts,
        max_rows,
        config.seed,
        augment or {},
        _earlier_network(config.init_from, scorer),
    )
    return train(
        config.model_copy(update={"method": "full", "base": scorer.manifest.base.name}), objective=plan
    )


def _earlier_network(init_from: Path | None, teacher: Scorer) -> HeadlineClassifier | None:
    """The network of the artifact to go on from, loaded as the teacher is (the same fp16, frozen
    embedding table); the student copies it, and nothing else keeps it."""
    if init_from is None:
        return None
    earlier = Scorer.load(init_from, teacher.settings, trainable=True)
    if earlier.manifest.base != teacher.manifest.base:
        raise DataError(
            f"init_from {init_from} is on base {earlier.manifest.base.name}, the teacher "
            f"on {teacher.manifest.base.name}"
        )
    return earlier.network
