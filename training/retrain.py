"""Retraining on editors' labels: train a candidate from the current model, check its int8 form,
judge it beside the current model, and say whether it may replace it.

What a retrain does (``docs/design/retrain-gate.md`` says why):

- The labels are split by a salted hash of each headline, so that a label keeps its role as more
  arrive: ``train`` (fitted), ``dev`` (early stopping and the temperature; never fitted) and
  ``judge`` (the gate alone).
- The candidate goes on from the current model. Each batch is ``label_share`` editor labels; the
  rest are headlines fitted to the *current model's own scores* — the shipped reference headlines
  (``training/reference_set.py``), half of the headlines the service has scored (the pool; the
  other half, fixed by a hash of each, is kept for the gate's agreement check), and any
  ``replay_data`` files with their labels — so the candidate learns the corrections and keeps the
  current judgement elsewhere, with no file outside the package.
- At most ``passes`` passes over the training labels (and ``steps`` steps); the checkpoint with the
  best log-loss on ``dev`` wins, the starting point included.
- The candidate scores only the editor's languages (``route``): every other headline goes to the
  current model, copied into the candidate, so that a rule learnt in one language cannot spread to
  the others (``route_languages``).
- Temperature, threshold and per-language corrections: the current model's, for the fp32 and the
  int8 form alike. The candidate is trained towards the current model's raw scores, so it keeps
  that scale; a temperature or threshold fitted on a few dozen labels of one site is noise, and it
  would move every language's decisions (even the best threshold for the editor's other headlines
  gains at most 1.2 points on them: ``benchmarks/retrain_ceiling.py``). Where the editor's
  held-out labels in one of their languages reach ``MIN_LANGUAGE_ROWS``, that language's correction
  is refitted on them (``editor_calibration``; hinged at the threshold, it moves no decision, so it
  may use the judge labels too). A retrain from the base fits its temperature and corrections on
  ``dev`` with the shipped check rows.
- The gate: on ``judge``, the candidate must fix significantly more decisions than it breaks
  (one-sided exact McNemar test at ``1 - confidence``) without losing macro-F1 (whose paired
  bootstrap interval is reported: on a few dozen rows macro-F1 moves with the class balance of
  the decisions, and a bootstrap of it passed a candidate trained on shuffled labels); no other
  language of the shipped check rows may lose more than ``max_language_drop``; languages without
  check rows must keep ``min_agreement`` of the current decisions on the pooled headlines; any
  ``eval_data`` files may lose at most ``margin``. In the editor's own languages their labels
  judge, and the check rows are only reported (``editor_languages``).
"""

from __future__ import annotations

import math
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import binomtest

from classifier.artifact import (
    FALLBACK_DIR,
    LanguageCalibration,
    Manifest,
    Routing,
    read_manifest,
    write_manifest,
)
from classifier.base import ResolvedBase
from classifier.bundled import file_sha256
from classifier.language import UNDETERMINED
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer, calibrated
from classifier.text import dedup_key
from training.calibration import (
    MIN_LANGUAGE_ROWS,
    fit_calibration,
    macro_f1_of,
    row_languages,
)
from training.card import render_model_card
from training.config import RetrainSettings, TrainConfig
from training.data import (
    DataError,
    DataFile,
    Dataset,
    Example,
    dataset_name,
    load_dataset,
    random_rows,
    read_file,
    split_holdout,
)
from training.evaluate import named_sets
from training.quantize import quantize_on
from training.reference_set import load_reference
from training.trainer import Labels, Progress, TrainResult, train

JUDGE_SALT = "judge:"
DEV_SALT = "dev:"
AGREEMENT_SALT = "agreement:"
POOL = "pool"  # file name of the pooled headlines, as the sampler sees them
REFERENCE = "reference"


@dataclass(frozen=True)
class LabelSplit:
    train: list[Example]
    dev: list[Example]
    judge: list[Example]


@dataclass
class Judgement:
    """The comparison that decides a promotion; stored with the job and in the registry."""

    promote: bool
    reason: str
    current: dict[str, Any]
    candidate: dict[str, Any]
    labels: dict[str, Any] = field(default_factory=dict)
    languages: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "current": self.current,
            "candidate": self.candidate,
            "labels": self.labels,
            "languages": self.languages,
            "rows": self.rows,
        }


def check_label_count(count: int, settings: RetrainSettings) -> None:
    if count < settings.min_labels:
        raise DataError(f"{count} labelled headlines stored; a retrain needs at least {settings.min_labels}")


def split_labels(labels: list[Example], settings: RetrainSettings) -> LabelSplit:
    """Train, dev and judge parts, each fixed by the headline's hash: more labels never move a
    headline from one part to another."""
    check_label_count(len(labels), settings)
    train_part, held = split_holdout(labels, settings.holdout, "text", salt=JUDGE_SALT)
    judge_part, dev_part = split_holdout(held, 0.5, "text", salt=DEV_SALT)
    for name, part in (("train on", train_part), ("stop early with", dev_part), ("judge with", judge_part)):
        if len({e.label for e in part}) < 2:
            raise DataError(
                f"the {len(labels)} labels leave no news and clickbait to {name}; add labels of both kinds"
            )
    return LabelSplit(train_part, dev_part, judge_part)


def training_set(
    labels_file: Path, train_labels: list[Example], settings: RetrainSettings, from_base: bool
) -> Dataset:
    """The new labels plus the rows of the user's replay files (all of them for a retrain from the
    base, else a sample), with their own labels; no replayed row contradicts an editor's label."""
    files = [DataFile(name=labels_file.name, sha256=file_sha256(labels_file), rows=len(train_labels))]
    replay: list[Example] = []
    if settings.replay_data:
        replayed = load_dataset([Path(p) for p in settings.replay_data])
        relabelled = {dedup_key(e.text) for e in train_labels}
        replay = [e for e in replayed.examples if dedup_key(e.text) not in relabelled]
        if not from_base:
            replay = random_rows(replay, settings.replay_rows, settings.seed)
        files += replayed.files
    return Dataset(train_labels + replay, files)


def split_pool(pool: Sequence[str], labels: Sequence[Example]) -> tuple[list[str], list[str]]:
    """The pooled headlines the editor did not label, split by a hash of each into those replayed
    with the current model's scores and those the gate's agreement check reads (a candidate trained
    towards a headline's score agrees with it by construction)."""
    labelled = {dedup_key(e.text) for e in labels}
    fresh = [Example(h, 0, "und", None, POOL) for h in dict.fromkeys(pool) if dedup_key(h) not in labelled]
    replayed, checked = split_holdout(fresh, 0.5, "text", salt=AGREEMENT_SALT)
    return [e.text for e in replayed], [e.text for e in checked]


def self_replay(pool: Sequence[str], labels: Sequence[Example], settings: RetrainSettings) -> list[Example]:
    """Headlines whose targets are the current model's scores: the shipped reference headlines and
    a sample of the pool, without any headline the editor labelled (their label wins)."""
    labelled = {dedup_key(e.text) for e in labels}
    rows = [r.example for r in load_reference() if r.role == "replay"]
    rows = [replace(e, file=REFERENCE) for e in rows if dedup_key(e.text) not in labelled]
    fresh = random_rows(
        [h for h in dict.fromkeys(pool) if dedup_key(h) not in labelled],
        settings.pool_replay_rows,
        settings.seed,
    )
    pooled = [Example(h, 0, UNDETERMINED, None, POOL) for h in fresh]
    langs = row_languages(pooled)
    return rows + [replace(e, lang=lang) for e, lang in zip(pooled, langs, strict=True)]


def editor_languages(labels: Sequence[Example], min_labels: int) -> set[str]:
    """Languages with at least ``min_labels`` of the editor's labels (detected where a label names
    none): there the editor's held-out labels judge, and the shipped check rows, labelled to another
    house's taste, are only reported."""
    counts = Counter(row_languages(labels))
    return {lang for lang, n in counts.items() if n >= min_labels and lang != UNDETERMINED}


def editor_calibration(
    manifest: Manifest,
    candidate: Callable[[], Scorer],
    held_out: Sequence[Example],
    editors: set[str],
    say: Callable[[str], None] = lambda _message: None,
) -> dict[str, LanguageCalibration]:
    """A warm candidate's per-language corrections: the current model's (it was trained towards
    that model's raw scores, so it keeps its scale), with each of the editor's languages refitted
    on the editor's held-out labels (dev and judge) where they reach ``MIN_LANGUAGE_ROWS``, so that
    a score there means the share of headlines this editor calls clickbait. The corrections are
    hinged at the kept threshold, so the refit moves no decision: the gate, which judges decisions
    on the judge labels, sees the same candidate either way."""
    langs = row_languages(held_out)
    mine = [i for i, lang in enumerate(langs) if lang in editors]
    if max(Counter(langs[i] for i in mine).values(), default=0) < MIN_LANGUAGE_ROWS:
        return dict(manifest.languages)
    say("calibrating the editor's languages on their held-out labels")
    rows = [held_out[i] for i in mine]
    logits = candidate().logits([e.text for e in rows])
    labels = np.array([e.label for e in rows])
    refitted = fit_calibration(
        logits, labels, [langs[i] for i in mine], manifest.temperature, manifest.threshold
    )
    return {**manifest.languages, **refitted.languages}


def route(current: Path, out: Path, editors: set[str]) -> Routing | None:
    """The candidate in ``out`` scores the editor's languages (and those its current model already
    scored, where that one is routed); every other language goes to the current model's network,
    copied into ``out`` (a LoRA artifact is a few MB), so that no other language can move. ``None``
    (the candidate scores everything) where the labels name no language enough times."""
    if not editors:
        return None
    manifest = read_manifest(current)
    hidden = shutil.ignore_patterns(".*")
    if manifest.routing is None:
        shutil.copytree(current, out / FALLBACK_DIR, ignore=hidden)
        return Routing(languages=sorted(editors), fallback_version=manifest.version)
    shutil.copytree(current / FALLBACK_DIR, out / FALLBACK_DIR, ignore=hidden)
    return manifest.routing.model_copy(
        update={"languages": sorted(editors | set(manifest.routing.languages))}
    )


@dataclass
class Retraining:
    """The trainer's objective for a warm retrain: the current network goes on learning, the
    editor's labels as targets for their rows and the current model's scores for the replayed ones."""

    current: Scorer
    replay: list[Example]
    layers: int | None = None

    def build(self, config: TrainConfig) -> tuple[HeadlineClassifier, ResolvedBase]:
        return Labels().build(config)

    def rows_and_targets(
        self, train_rows: list[Example], held_out: list[Example]
    ) -> tuple[list[Example], torch.Tensor | None]:
        # temperature 1: the candidate's raw logits stay on the current model's scale
        scores = calibrated(self.current.logits([e.text for e in self.replay]), 1.0)
        replayed = [replace(e, label=int(p >= 0.5)) for e, p in zip(self.replay, scores, strict=True)]
        targets = torch.tensor([float(e.label) for e in train_rows] + scores.tolist(), dtype=torch.float32)
        return train_rows + replayed, targets

    def record(self) -> dict:
        counts: dict[str, int] = defaultdict(int)
        for row in self.replay:
            counts[row.file] += 1
        return {"self_replay": dict(counts), "replay_targets_from": self.current.version}


def retrain(
    current: Path,
    labels_file: Path,
    out: Path,
    settings: RetrainSettings,
    *,
    pool: Sequence[str] = (),
    from_base: bool = False,
    version: str | None = None,
    progress: Progress | None = None,
    stage: Callable[[str], None] | None = None,
) -> tuple[TrainResult, Judgement]:
    """Train a candidate into ``out``, check its int8 form (``settings.quantize``) and judge it
    against ``current``; ``pool``: headlines the service has scored. ``progress`` hears of training
    steps, ``stage`` of the steps after."""
    say = stage or (lambda _message: None)
    labels = read_file(labels_file)
    split = split_labels(labels, settings)
    served = Scorer.load(current)  # as `auto` serves it: the replay targets and the gate's baseline
    checks = [r.example for r in load_reference() if r.role == "check"]
    dataset = training_set(labels_file, split.train, settings, from_base)
    manifest = read_manifest(current)
    labels_per_step = max(1.0, settings.batch_size * (settings.label_share if not from_base else 1.0))
    steps = (
        settings.base_steps
        if from_base
        else max(1, min(settings.steps, math.ceil(settings.passes * len(split.train) / labels_per_step)))
    )
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
        lr=settings.base_lr if from_base else settings.lr,
        **(
            {
                "lora_r": lora.r,
                "lora_alpha": lora.alpha,
                "lora_targets": lora.target_modules,
                "lora_layers": lora.layers,
            }
            if lora
            else {}
        ),
        file_shares={dataset_name(labels_file): settings.label_share},
        eval_every=max(1, steps // settings.checks),
        patience=max(2, settings.checks // 2),
        stop_on="neg_log_loss",
        max_eval_rows=1000,
        seed=settings.seed,
    )
    replayed, checked = split_pool(pool, labels)
    objective = None
    if not from_base:
        say("scoring the replayed headlines with the current model")
        objective = Retraining(served, self_replay(replayed, labels, settings), manifest.layers)
    result = train(
        config, dataset, progress=progress, version=version, objective=objective, validation=split.dev
    )

    calibration_rows = split.dev + checks
    fp32 = served.settings.model_copy(update={"engine": "fp32"})
    editors = editor_languages(labels, settings.min_labels)
    if from_base:
        say("calibrating the candidate on held-out labels")
        candidate_fp32 = Scorer.load(result.out, fp32)
        logits = candidate_fp32.logits([e.text for e in calibration_rows])
        truth = np.array([e.label for e in calibration_rows])
        fitted = fit_calibration(logits, truth, row_languages(calibration_rows), threshold=manifest.threshold)
        temperature, languages = fitted.temperature, fitted.languages
    else:  # trained towards the current model's raw scores: its scale, so its calibration
        temperature = manifest.temperature
        languages = editor_calibration(
            manifest, lambda: Scorer.load(result.out, fp32), split.dev + split.judge, editors, say
        )
    routing = None
    if settings.route_languages and not from_base:
        routing = route(current, result.out, editors)
    updated = result.manifest.model_copy(
        update={
            "temperature": temperature,
            "threshold": manifest.threshold,
            "languages": languages,
            "routing": routing,
        }
    )
    write_manifest(result.out, updated)
    (result.out / "README.md").write_text(render_model_card(updated))
    result = replace(result, manifest=updated)
    if settings.quantize:  # before judging: both models are then judged in the form `auto` serves
        say("checking the candidate's int8 form")
        spec = quantize_on(
            result.out,
            split.train + checks,
            named_sets(calibration_rows, settings.eval_data),
            settings.seed,
            calibration=(temperature, manifest.threshold),
        )
        result = replace(result, manifest=result.manifest.model_copy(update={"int8": spec}))
    say("judging the candidate")
    evaluation = [e for p in settings.eval_data for e in read_file(Path(p))]
    judgement = judge(
        served, Scorer.load(result.out, served.settings), split, checks, evaluation, checked, settings
    )
    return result, judgement


def paired_bootstrap(
    truth: np.ndarray,
    ours: np.ndarray,
    theirs: np.ndarray,
    rounds: int,
    seed: int,
) -> np.ndarray:
    """Macro-F1 of ``ours`` minus that of ``theirs`` (0/1 decisions) over ``rounds`` resamples of the
    same rows: the spread a gain would have on another draw of labels like these."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(truth), size=(rounds, len(truth)))
    return macro_f1_of(truth[picks], ours[picks]) - macro_f1_of(truth[picks], theirs[picks])


def mcnemar_p(fixed: int, broken: int) -> float:
    """One-sided exact McNemar test: how likely a candidate no better than the current model would
    fix at least ``fixed`` of the ``fixed + broken`` decisions on which the two differ."""
    if fixed + broken == 0:
        return 1.0
    return float(binomtest(fixed, fixed + broken, 0.5, alternative="greater").pvalue)


def judge(
    current: Scorer,
    candidate: Scorer,
    split: LabelSplit,
    checks: list[Example],
    evaluation: list[Example],
    pool: Sequence[str],
    settings: RetrainSettings,
) -> Judgement:
    """Decide, each model at its own threshold, from the held-out labels, every language of the
    check rows, the pooled headlines of other languages and the evaluation files."""
    rows = split.judge + checks + evaluation
    texts = [e.text for e in rows]
    unlabelled = list(dict.fromkeys(pool))[: settings.pool_replay_rows]
    decided = {}
    for name, scorer in (("current", current), ("candidate", candidate)):
        probs = scorer.probabilities(texts + unlabelled)
        decided[name] = probs >= scorer.threshold
    truth = np.array([e.label for e in rows])
    reasons: list[str] = []

    own = slice(0, len(split.judge))
    gains = paired_bootstrap(
        truth[own],
        decided["candidate"][own],
        decided["current"][own],
        settings.bootstrap_rounds,
        settings.seed,
    )
    before = float(macro_f1_of(truth[own], decided["current"][own]))
    after = float(macro_f1_of(truth[own], decided["candidate"][own]))
    right = decided["candidate"][own] == truth[own]
    was_right = decided["current"][own] == truth[own]
    fixed, broken = int((right & ~was_right).sum()), int((~right & was_right).sum())
    p_value = mcnemar_p(fixed, broken)
    labels_report = {
        "n": len(split.judge),
        "macro_f1": {"current": round(before, 4), "candidate": round(after, 4)},
        "gain": round(after - before, 4),
        "interval_90": [round(float(np.quantile(gains, 0.05)), 4), round(float(np.quantile(gains, 0.95)), 4)],
        "fixed": fixed,
        "broken": broken,
        "mcnemar_p": round(p_value, 4),
        "ok": p_value <= 1 - settings.confidence and after >= before,
    }
    if not labels_report["ok"]:
        reasons.append(
            f"held-out labels: the candidate fixed {fixed} and broke {broken} of {len(split.judge)} "
            f"decisions (McNemar p = {p_value:.2f}, needs ≤ {1 - settings.confidence:.2f}), "
            f"macro-F1 {before:.3f} → {after:.3f}"
        )

    languages: dict[str, dict[str, Any]] = {}
    offset = len(split.judge)
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(row_languages(checks)):
        by_lang[lang].append(offset + i)
    labelled = split.train + split.dev + split.judge
    editors = editor_languages(labelled, settings.min_labels)
    for lang, where in sorted(by_lang.items()):
        idx = np.array(where)
        was = float(macro_f1_of(truth[idx], decided["current"][idx]))
        now = float(macro_f1_of(truth[idx], decided["candidate"][idx]))
        gates = lang not in editors
        ok = now >= was - settings.max_language_drop or not gates
        languages[lang] = {
            "kind": "labelled",
            "n": len(idx),
            "current": round(was, 4),
            "candidate": round(now, 4),
            "gates": gates,
            "ok": ok,
        }
        if not ok:
            reasons.append(f"{lang}: macro-F1 on its check rows fell {was:.3f} → {now:.3f}")
    label_langs = {e.lang for e in labelled} | editors
    start = len(rows)
    pool_langs = row_languages([Example(h, 0, UNDETERMINED, None, POOL) for h in unlabelled])
    for lang in sorted(set(pool_langs) - set(by_lang) - label_langs - {"und"}):
        idx = start + np.array([i for i, x in enumerate(pool_langs) if x == lang])
        if len(idx) < settings.min_agreement_rows:
            continue
        kept = int((decided["current"][idx] == decided["candidate"][idx]).sum())
        agreement = kept / len(idx)
        ok = agreement >= settings.min_agreement
        # reported beside the decision: on ~100 headlines one changed decision moves it ~1 point
        interval = binomtest(kept, len(idx)).proportion_ci(0.90, method="wilson")
        languages[lang] = {
            "kind": "agreement",
            "n": len(idx),
            "agreement": round(agreement, 4),
            "interval_90": [round(interval.low, 4), round(interval.high, 4)],
            "ok": ok,
        }
        if not ok:
            reasons.append(
                f"{lang}: the candidate keeps {agreement:.1%} of the current decisions on pooled "
                f"headlines (needs {settings.min_agreement:.0%})"
            )

    if evaluation:
        idx = np.arange(offset + len(checks), offset + len(checks) + len(evaluation))
        was = float(macro_f1_of(truth[idx], decided["current"][idx]))
        now = float(macro_f1_of(truth[idx], decided["candidate"][idx]))
        languages["evaluation files"] = {
            "kind": "labelled",
            "n": len(idx),
            "current": round(was, 4),
            "candidate": round(now, 4),
            "ok": now >= was - settings.margin,
        }
        if now < was - settings.margin:
            reasons.append(
                f"evaluation files: macro-F1 fell {was:.3f} → {now:.3f}, more than {settings.margin}"
            )

    promote = not reasons
    reason = (
        "; ".join(reasons)
        if reasons
        else (
            f"held-out labels: macro-F1 {before:.3f} → {after:.3f} (90 % interval of the gain "
            f"{labels_report['interval_90'][0]:+.3f} … {labels_report['interval_90'][1]:+.3f}); "
            f"no language lost more than allowed"
        )
    )

    def model(scorer: Scorer) -> dict[str, Any]:
        return {
            "version": scorer.version,
            "engine": scorer.engine,
            "threshold": scorer.threshold,
            "routed_languages": scorer.routed_languages,
        }

    return Judgement(
        promote,
        reason,
        model(current),
        model(candidate),
        labels_report,
        languages,
        {
            "train_labels": len(split.train),
            "dev_labels": len(split.dev),
            "judge_labels": len(split.judge),
            "check_rows": len(checks),
            "pooled_headlines": len(unlabelled),
            "evaluation_rows": len(evaluation),
        },
    )
