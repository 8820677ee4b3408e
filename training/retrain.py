"""Retraining on editors' labels: train a candidate from the current model, check its int8 form,
judge it beside the current model, and say whether it may replace it. ``retrain`` reads as its
stages, top to bottom: the labels and their parts, what the candidate is trained on, training
(which calibrates, routes and writes the artifact once), the int8 check, the judgement.

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
  gains little on them: ``docs/results/2026-11-29-retrain-scenarios.md``). Where the editor's
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

from classifier.artifact import FALLBACK_DIR, LanguageCalibration, Manifest, Routing, read_manifest
from classifier.base import ResolvedBase
from classifier.bundled import file_sha256
from classifier.language import UNDETERMINED
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer, calibrated
from classifier.text import dedup_key
from training.calibration import MIN_LANGUAGE_ROWS, Calibration, calibrate_on, macro_f1_of, row_languages
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
Say = Callable[[str], None]  # hears of each stage by name (a job shows it as its message)


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


def retrain(
    current: Path,
    labels: Path | Dataset,
    out: Path,
    settings: RetrainSettings,
    *,
    pool: Sequence[str] = (),
    from_base: bool = False,
    version: str | None = None,
    progress: Progress | None = None,
    stage: Say | None = None,
) -> tuple[TrainResult, Judgement]:
    """Train a candidate into ``out`` on the editor's ``labels`` (a file, or the label store's rows
    as a ``Dataset``), check its int8 form (``settings.quantize``) and judge it against ``current``;
    ``pool``: headlines the service has scored. ``progress`` hears of training steps, ``stage`` of
    the steps after."""
    say = stage or (lambda _message: None)
    # 1. the labels, their parts and the languages they are in
    labels = label_set(labels)
    split = split_labels(labels.examples, settings)
    editors = editor_languages(labels.examples, settings.min_labels)
    kept, served = read_manifest(current), Scorer.load(current)  # served: as `auto` serves it
    checks = check_rows()
    replayed, checked = split_pool(pool, labels.examples)
    # 2. what the candidate learns: the labels, replayed rows, the current model's own scores
    objective = None
    if not from_base:
        say("scoring the replayed headlines with the current model")
        objective = Retraining(served, self_replay(replayed, labels.examples, settings), kept.layers)
    # 3. training, which calibrates the candidate, routes it and writes it once
    result = train(
        retrain_config(current, kept, labels, len(split.train), settings, from_base, out),
        training_set(labels, split.train, settings, from_base),
        progress=progress,
        version=version,
        objective=objective,
        validation=split.dev,
        calibrate=candidate_calibration(kept, split, checks, editors, from_base, say),
        routing=None if from_base or not settings.route_languages else routing(kept, editors),
    )
    if result.manifest.routing is not None:
        copy_fallback(current, kept, result.out)
    # 4. its int8 form, before judging: both models are then judged in the form `auto` serves
    if settings.quantize:
        say("checking the candidate's int8 form")
        result = check_int8(result, split, checks, settings)
    # 5. the gate
    say("judging the candidate")
    evaluation = [e for p in settings.eval_data for e in read_file(Path(p))]
    candidate = Scorer.load(result.out, served.settings)
    return result, judge(served, candidate, split, checks, evaluation, checked, settings)


def label_set(labels: Path | Dataset) -> Dataset:
    """The editor's labels with their file's record: a file's rows as they are (the label store
    exports one per headline), or the store's own ``Dataset``."""
    if isinstance(labels, Dataset):
        return labels
    rows = read_file(labels)
    return Dataset(rows, [DataFile(name=labels.name, sha256=file_sha256(labels), rows=len(rows))])


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


def editor_languages(labels: Sequence[Example], min_labels: int) -> set[str]:
    """Languages with at least ``min_labels`` of the editor's labels (``row_languages``): there the
    editor's held-out labels judge, and the shipped check rows, labelled to another house's taste,
    are only reported."""
    counts = Counter(row_languages(labels))
    return {lang for lang, n in counts.items() if n >= min_labels and lang != UNDETERMINED}


def check_rows() -> list[Example]:
    """The shipped check rows (``training/reference_set.py``): calibration from the base, the gate."""
    return [r.example for r in load_reference() if r.role == "check"]


def split_pool(pool: Sequence[str], labels: Sequence[Example]) -> tuple[list[str], list[str]]:
    """The pooled headlines the editor did not label, split by a hash of each into those replayed
    with the current model's scores and those the gate's agreement check reads (a candidate trained
    towards a headline's score agrees with it by construction)."""
    labelled = {dedup_key(e.text) for e in labels}
    fresh = [_pooled(h) for h in dict.fromkeys(pool) if dedup_key(h) not in labelled]
    replayed, checked = split_holdout(fresh, 0.5, "text", salt=AGREEMENT_SALT)
    return [e.text for e in replayed], [e.text for e in checked]


def _pooled(headline: str) -> Example:
    """A pooled headline as a row: no label of its own, no language declared."""
    return Example(headline, 0, UNDETERMINED, None, POOL)


def self_replay(pool: Sequence[str], labels: Sequence[Example], settings: RetrainSettings) -> list[Example]:
    """Headlines whose targets are the current model's scores: the shipped reference headlines and
    a sample of the pool, in its language (``row_languages``), without any headline the editor
    labelled (their label wins)."""
    labelled = {dedup_key(e.text) for e in labels}
    rows = [r.example for r in load_reference() if r.role == "replay"]
    rows = [replace(e, file=REFERENCE) for e in rows if dedup_key(e.text) not in labelled]
    fresh = [h for h in dict.fromkeys(pool) if dedup_key(h) not in labelled]
    pooled = [_pooled(h) for h in random_rows(fresh, settings.pool_replay_rows, settings.seed)]
    return rows + [replace(e, lang=lang) for e, lang in zip(pooled, row_languages(pooled), strict=True)]


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


def training_set(
    labels: Path | Dataset, train_labels: list[Example], settings: RetrainSettings, from_base: bool
) -> Dataset:
    """The new labels plus the rows of the user's replay files (all of them for a retrain from the
    base, else a sample), with their own labels; no replayed row contradicts an editor's label."""
    files = [label_set(labels).files[0].model_copy(update={"rows": len(train_labels)})]
    replay: list[Example] = []
    if settings.replay_data:
        replayed = load_dataset([Path(p) for p in settings.replay_data])
        relabelled = {dedup_key(e.text) for e in train_labels}
        replay = [e for e in replayed.examples if dedup_key(e.text) not in relabelled]
        if not from_base:
            replay = random_rows(replay, settings.replay_rows, settings.seed)
        files += replayed.files
    return Dataset(train_labels + replay, files)


def retrain_config(
    current: Path,
    kept: Manifest,
    labels: Dataset,
    train_labels: int,
    settings: RetrainSettings,
    from_base: bool,
    out: Path,
) -> TrainConfig:
    """The recipe of the candidate: the current model's base, method and adapter; at most
    ``passes`` over the ``train_labels`` (``base_steps`` from the base), the labels a fixed
    ``label_share`` of every batch; early stopping on the dev labels' log-loss."""
    labels_per_step = max(1.0, settings.batch_size * (settings.label_share if not from_base else 1.0))
    steps = (
        settings.base_steps
        if from_base
        else max(1, min(settings.steps, math.ceil(settings.passes * train_labels / labels_per_step)))
    )
    lora = kept.lora
    adapter = (
        {
            "lora_r": lora.r,
            "lora_alpha": lora.alpha,
            "lora_targets": lora.target_modules,
            "lora_layers": lora.layers,
        }
        if lora
        else {}
    )
    return TrainConfig(
        data=[Path(p) for p in settings.replay_data],  # the labels are recorded in the manifest's data
        out=out,
        base=kept.base.name,
        method=kept.method,
        init_from=None if from_base else current,
        epochs=1,
        samples_per_epoch=steps * settings.batch_size,
        batch_size=settings.batch_size,
        max_length=settings.max_length,
        lr=settings.base_lr if from_base else settings.lr,
        **adapter,
        file_shares={dataset_name(Path(labels.files[0].name)): settings.label_share},
        eval_every=max(1, steps // settings.checks),
        patience=max(2, settings.checks // 2),
        stop_on="neg_log_loss",
        max_eval_rows=1000,
        checkpoints=False,  # a job's candidate is its own: no job is run again to go on from
        seed=settings.seed,
    )


def candidate_calibration(
    kept: Manifest,
    split: LabelSplit,
    checks: list[Example],
    editors: set[str],
    from_base: bool,
    say: Say,
) -> Callable[[Scorer], Calibration]:
    """How the trainer calibrates the candidate (the module's docstring says why): from the base,
    a temperature and corrections fitted on the dev labels and the check rows, at the current
    threshold; warm, the current model's calibration, the editor's languages refitted."""

    def calibrate(candidate: Scorer) -> Calibration:
        if from_base:
            say("calibrating the candidate on held-out labels")
            return calibrate_on(candidate, split.dev + checks, threshold=kept.threshold)
        languages = editor_calibration(kept, lambda: candidate, split.dev + split.judge, editors, say)
        return Calibration(kept.temperature, kept.threshold, languages)

    return calibrate


def editor_calibration(
    manifest: Manifest,
    candidate: Callable[[], Scorer],
    held_out: Sequence[Example],
    editors: set[str],
    say: Say = lambda _message: None,
) -> dict[str, LanguageCalibration]:
    """A warm candidate's per-language corrections: the current model's (it was trained towards
    that model's raw scores, so it keeps its scale), with each of the editor's languages refitted
    on the editor's held-out labels (dev and judge) where they reach ``MIN_LANGUAGE_ROWS``, so that
    a score there means the share of headlines this editor calls clickbait. The corrections are
    hinged at the kept threshold, so the refit moves no decision: the gate, which judges decisions
    on the judge labels, sees the same candidate either way."""
    langs = row_languages(held_out)
    mine = [e for e, lang in zip(held_out, langs, strict=True) if lang in editors]
    if max(Counter(lang for lang in langs if lang in editors).values(), default=0) < MIN_LANGUAGE_ROWS:
        return dict(manifest.languages)
    say("calibrating the editor's languages on their held-out labels")
    refitted = calibrate_on(candidate(), mine, manifest.temperature, manifest.threshold)
    return {**manifest.languages, **refitted.languages}


def routing(kept: Manifest, editors: set[str]) -> Routing | None:
    """The candidate scores the editor's languages (and those its current model already scored,
    where that one is routed); every other language goes to the current model's network
    (``copy_fallback``), so that no other language can move. ``None`` (the candidate scores
    everything) where the labels name no language enough times."""
    if not editors:
        return None
    if kept.routing is None:
        return Routing(languages=sorted(editors), fallback_version=kept.version)
    return kept.routing.model_copy(update={"languages": sorted(editors | set(kept.routing.languages))})


def copy_fallback(current: Path, kept: Manifest, out: Path) -> None:
    """The model a routed candidate hands other languages to, copied into it (a LoRA artifact is a
    few MB): the current model, or the one it already hands them to."""
    source = current if kept.routing is None else current / FALLBACK_DIR
    shutil.copytree(source, out / FALLBACK_DIR, ignore=shutil.ignore_patterns(".*"))


def check_int8(
    result: TrainResult, split: LabelSplit, checks: list[Example], settings: RetrainSettings
) -> TrainResult:
    """The candidate with its int8 form measured on the held-out rows at its own calibration
    (``training/quantize.py``), so that `auto` may serve it with the fast engine."""
    spec = quantize_on(
        result.out,
        split.train + checks,
        named_sets(split.dev + checks, settings.eval_data),
        settings.seed,
        calibration=(result.manifest.temperature, result.manifest.threshold),
    )
    return replace(result, manifest=result.manifest.model_copy(update={"int8": spec}))


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


@dataclass(frozen=True)
class Decisions:
    """Both models' 0/1 decisions on the same rows, each at its own threshold, and the rows' labels
    (none for pooled headlines)."""

    current: np.ndarray
    candidate: np.ndarray
    truth: np.ndarray | None = None

    def part(self, where: np.ndarray | slice) -> Decisions:
        truth = None if self.truth is None else self.truth[where]
        return Decisions(self.current[where], self.candidate[where], truth)

    def macro_f1(self) -> tuple[float, float]:
        """(the current model's, the candidate's)."""
        return float(macro_f1_of(self.truth, self.current)), float(macro_f1_of(self.truth, self.candidate))


Verdicts = tuple[dict[str, dict[str, Any]], list[str]]  # report entries, and the reasons to refuse


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
    unlabelled = list(dict.fromkeys(pool))[: settings.pool_replay_rows]
    texts = [e.text for e in rows] + unlabelled
    current_says, candidate_says = (s.probabilities(texts) >= s.threshold for s in (current, candidate))
    labelled = Decisions(
        current_says[: len(rows)], candidate_says[: len(rows)], np.array([e.label for e in rows])
    )
    pooled = Decisions(current_says[len(rows) :], candidate_says[len(rows) :])
    editor_labels = split.train + split.dev + split.judge
    editors = editor_languages(editor_labels, settings.min_labels)
    first, after_checks = len(split.judge), len(split.judge) + len(checks)

    own = labelled.part(slice(0, first))
    labels_report, reasons = labels_verdict(own, settings)
    check_langs = row_languages(checks)
    languages, more = check_row_verdicts(
        labelled.part(slice(first, after_checks)), check_langs, editors, settings
    )
    reasons += more
    skip = set(check_langs) | {e.lang for e in editor_labels} | editors  # judged by labels already
    for verdicts, more in (
        agreement_verdicts(pooled, unlabelled, skip, settings),
        evaluation_verdict(labelled.part(slice(after_checks, len(rows))), settings),
    ):
        languages |= verdicts
        reasons += more
    rows_report = {
        "train_labels": len(split.train),
        "dev_labels": len(split.dev),
        "judge_labels": len(split.judge),
        "check_rows": len(checks),
        "pooled_headlines": len(unlabelled),
        "evaluation_rows": len(evaluation),
    }
    return Judgement(
        not reasons,
        "; ".join(reasons) or promotion_reason(own, labels_report),
        _model(current),
        _model(candidate),
        labels_report,
        languages,
        rows_report,
    )


def labels_verdict(decisions: Decisions, settings: RetrainSettings) -> tuple[dict[str, Any], list[str]]:
    """The held-out labels: the candidate must fix significantly more decisions than it breaks
    (one-sided exact McNemar test) without losing macro-F1; the paired bootstrap interval of the
    gain is reported."""
    truth, n = decisions.truth, len(decisions.current)
    gains = paired_bootstrap(
        truth, decisions.candidate, decisions.current, settings.bootstrap_rounds, settings.seed
    )
    before, after = decisions.macro_f1()
    right, was_right = decisions.candidate == truth, decisions.current == truth
    fixed, broken = int((right & ~was_right).sum()), int((~right & was_right).sum())
    p_value = mcnemar_p(fixed, broken)
    report = {
        "n": n,
        "macro_f1": {"current": round(before, 4), "candidate": round(after, 4)},
        "gain": round(after - before, 4),
        "interval_90": [round(float(np.quantile(gains, 0.05)), 4), round(float(np.quantile(gains, 0.95)), 4)],
        "fixed": fixed,
        "broken": broken,
        "mcnemar_p": round(p_value, 4),
        "ok": p_value <= 1 - settings.confidence and after >= before,
    }
    if report["ok"]:
        return report, []
    return report, [
        f"held-out labels: the candidate fixed {fixed} and broke {broken} of {n} "
        f"decisions (McNemar p = {p_value:.2f}, needs ≤ {1 - settings.confidence:.2f}), "
        f"macro-F1 {before:.3f} → {after:.3f}"
    ]


def check_row_verdicts(
    decisions: Decisions, langs: Sequence[str], editors: set[str], settings: RetrainSettings
) -> Verdicts:
    """Each language of the shipped check rows may lose at most ``max_language_drop`` of macro-F1,
    except the editor's own languages, where it is only reported."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, lang in enumerate(langs):
        by_lang[lang].append(i)
    verdicts, reasons = {}, []
    for lang, where in sorted(by_lang.items()):
        was, now = decisions.part(np.array(where)).macro_f1()
        gates = lang not in editors
        ok = now >= was - settings.max_language_drop or not gates
        verdicts[lang] = {
            "kind": "labelled",
            "n": len(where),
            "current": round(was, 4),
            "candidate": round(now, 4),
            "gates": gates,
            "ok": ok,
        }
        if not ok:
            reasons.append(f"{lang}: macro-F1 on its check rows fell {was:.3f} → {now:.3f}")
    return verdicts, reasons


def agreement_verdicts(
    decisions: Decisions, headlines: Sequence[str], judged: set[str], settings: RetrainSettings
) -> Verdicts:
    """A language without labels or check rows (not in ``judged``) must keep ``min_agreement`` of
    the current decisions on its pooled headlines, where it has ``min_agreement_rows`` of them."""
    langs = row_languages([_pooled(h) for h in headlines])
    verdicts, reasons = {}, []
    for lang in sorted(set(langs) - judged - {UNDETERMINED}):
        where = np.array([i for i, found in enumerate(langs) if found == lang])
        if len(where) < settings.min_agreement_rows:
            continue
        kept = int((decisions.current[where] == decisions.candidate[where]).sum())
        agreement = kept / len(where)
        # reported beside the decision: on a language's few pooled headlines one changed decision
        # moves the agreement by 1/n, so the interval says how far it can be trusted
        interval = binomtest(kept, len(where)).proportion_ci(0.90, method="wilson")
        verdicts[lang] = {
            "kind": "agreement",
            "n": len(where),
            "agreement": round(agreement, 4),
            "interval_90": [round(interval.low, 4), round(interval.high, 4)],
            "ok": agreement >= settings.min_agreement,
        }
        if agreement < settings.min_agreement:
            reasons.append(
                f"{lang}: the candidate keeps {agreement:.1%} of the current decisions on pooled "
                f"headlines (needs {settings.min_agreement:.0%})"
            )
    return verdicts, reasons


def evaluation_verdict(decisions: Decisions, settings: RetrainSettings) -> Verdicts:
    """The ``eval_data`` files together may lose at most ``margin`` of macro-F1."""
    if not len(decisions.current):
        return {}, []
    was, now = decisions.macro_f1()
    verdict = {
        "kind": "labelled",
        "n": len(decisions.current),
        "current": round(was, 4),
        "candidate": round(now, 4),
        "ok": now >= was - settings.margin,
    }
    if verdict["ok"]:
        return {"evaluation files": verdict}, []
    return {"evaluation files": verdict}, [
        f"evaluation files: macro-F1 fell {was:.3f} → {now:.3f}, more than {settings.margin}"
    ]


def promotion_reason(decisions: Decisions, labels_report: dict[str, Any]) -> str:
    """Why a candidate that passed every check is promoted (``decisions``: on the judge labels)."""
    before, after = decisions.macro_f1()
    low, high = labels_report["interval_90"]
    return (
        f"held-out labels: macro-F1 {before:.3f} → {after:.3f} (90 % interval of the gain "
        f"{low:+.3f} … {high:+.3f}); no language lost more than allowed"
    )


def _model(scorer: Scorer) -> dict[str, Any]:
    return {
        "version": scorer.version,
        "engine": scorer.engine,
        "threshold": scorer.threshold,
        "routed_languages": scorer.routed_languages,
    }
