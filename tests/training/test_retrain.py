"""Retraining pieces: the fixed judging split, the training set with replay, the gate, from-base runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifier.artifact import FALLBACK_DIR, LanguageCalibration, Routing, read_manifest, write_manifest
from classifier.backend import choose_engine
from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from tests.support.data import CLICKBAIT, NEWS, labelled_rows, write_jsonl
from training.config import RetrainSettings, TrainConfig
from training.data import DataError, Example, read_file, sampling_weights
from training.reference_set import load_reference
from training.retrain import (
    LabelSplit,
    editor_calibration,
    judge,
    paired_bootstrap,
    retrain,
    self_replay,
    split_labels,
    split_pool,
    training_set,
)
from training.trainer import train


def _labels(n: int) -> list[Example]:
    return [Example(f"labelled headline {i}", i % 2, "en", None, "labels") for i in range(n)]


def test_the_label_parts_are_fixed_by_headline_and_need_enough_labels() -> None:
    settings = RetrainSettings(holdout=0.4, min_labels=10)
    first = split_labels(_labels(200), settings)
    again = split_labels(list(reversed(_labels(200))), settings)
    for part in ("train", "dev", "judge"):
        assert {e.text for e in getattr(first, part)} == {e.text for e in getattr(again, part)}
    assert 20 < len(first.judge) < 60 and 20 < len(first.dev) < 60
    assert not {e.text for e in first.train} & {e.text for e in first.dev + first.judge}
    grown = split_labels(_labels(300), settings)  # more labels never move old ones to another part
    assert {e.text for e in first.judge} <= {e.text for e in grown.judge}
    assert {e.text for e in first.dev} <= {e.text for e in grown.dev}
    with pytest.raises(DataError, match="at least 10"):
        split_labels(_labels(9), settings)
    one_kind = [Example(f"only news {i}", 0, "en", None, "labels") for i in range(50)]
    with pytest.raises(DataError, match="both kinds"):
        split_labels(one_kind, settings)


def test_self_replay_brings_the_shipped_headlines_and_a_sample_of_the_pool() -> None:
    reference = load_reference()
    shipped = [r.example for r in reference if r.role == "replay"]
    assert {r.licence for r in reference} <= {"MIT", "CC BY 4.0", "CC BY-SA 4.0"}
    assert {"en", "es", "id", "tr"} <= {r.example.lang for r in reference if r.role == "check"}
    assert not {r.example.lang for r in reference} & {"ro"}  # no licence: nothing of it ships
    pool = [f"Primarul a inaugurat podul numărul {i} din oraș" for i in range(30)]
    labelled = [replace(shipped[0], file="labels"), Example(pool[0], 1, "ro", None, "labels")]
    rows = self_replay(pool + pool[:5], labelled, RetrainSettings(pool_replay_rows=20))
    texts = [e.text for e in rows]
    assert shipped[0].text not in texts and pool[0] not in texts  # the editor's label wins
    assert len([e for e in rows if e.file == "pool"]) == 20 and len(set(texts)) == len(texts)
    assert {e.lang for e in rows if e.file == "pool"} == {"ro"}
    assert len([e for e in rows if e.file == "reference"]) == len(shipped) - 1


def test_the_pool_is_split_by_headline_into_replayed_and_checked_parts() -> None:
    pool = [f"Primarul a inaugurat podul numărul {i} din oraș" for i in range(200)]
    labelled = [Example(pool[0], 1, "ro", None, "labels")]
    replayed, checked = split_pool(pool + pool[:50], labelled)
    assert not set(replayed) & set(checked) and pool[0] not in replayed + checked
    assert sorted(replayed + checked) == sorted(pool[1:]) and 60 < len(replayed) < 140
    more_replayed, more_checked = split_pool(pool + ["Un titlu nou despre oraș"], labelled)
    assert set(replayed) <= set(more_replayed) and set(checked) <= set(more_checked)  # fixed by hash


def test_the_paired_bootstrap_spreads_the_gain_of_the_same_rows() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200)
    ours = truth.copy()
    ours[:20] = 1 - ours[:20]  # 20 mistakes
    theirs = truth.copy()
    theirs[:40] = 1 - theirs[:40]  # the same 20 and 20 more
    gains = paired_bootstrap(truth, ours, theirs, rounds=500, seed=1)
    assert gains.shape == (500,) and (gains > 0).all()
    assert np.allclose(paired_bootstrap(truth, ours, ours, rounds=50, seed=1), 0)
    assert (paired_bootstrap(truth, theirs, ours, rounds=500, seed=1) < 0).all()


def test_replay_rows_are_sampled_and_never_contradict_a_label(tmp_path: Path) -> None:
    replay = write_jsonl(tmp_path / "replay.jsonl", labelled_rows(copies=5))
    labels_file = write_jsonl(tmp_path / "labels.jsonl", [{"text": NEWS[0], "label": "clickbait"}])
    relabelled = read_file(labels_file)
    settings = RetrainSettings(replay_data=[str(replay)], replay_rows=20, seed=3)
    warm = training_set(labels_file, relabelled, settings, from_base=False)
    assert len(warm.examples) == 1 + 20
    assert [e.label for e in warm.examples if e.text == NEWS[0]] == [1]  # the editor's label, not the file's
    full = training_set(labels_file, relabelled, settings, from_base=True)
    assert len(full.examples) == 1 + 16 * 5 - 1
    assert [f.name for f in full.files] == ["labels.jsonl", "replay.jsonl"]


def test_file_shares_give_the_labels_their_share_of_every_batch() -> None:
    rows = _labels(10) + [Example(f"replayed {i}", i % 2, "en", None, "replay") for i in range(990)]
    weights = sampling_weights(rows, file_shares={"labels": 0.5})
    assert np.isclose(weights[:10].sum(), 0.5) and np.isclose(weights.sum(), 1.0)
    assert np.allclose(sampling_weights(rows), sampling_weights(rows, file_shares={"absent": 0.5}))


class FixedScorer:
    """Stands for a model in the gate: fixed probabilities per headline (0.5 when unknown)."""

    def __init__(self, version: str, probs: dict[str, float], threshold: float = 0.5) -> None:
        self.version, self.probs, self.threshold, self.engine = version, probs, threshold, "fp32"
        self.routed_languages = None

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return np.array([self.probs.get(t, 0.4) for t in texts])


def _split(n: int) -> LabelSplit:
    judge = [Example(f"judged {i}", i % 2, "es", None, "labels") for i in range(n)]
    return LabelSplit(train=[], dev=[], judge=judge)


def test_the_gate_promotes_a_clear_gain_and_refuses_noise_or_a_language_that_lost() -> None:
    settings = RetrainSettings(bootstrap_rounds=500, min_agreement_rows=5)
    split = _split(60)
    checks = [Example(f"check {i}", i % 2, "en", None, "reference") for i in range(40)]
    truth = {e.text: float(e.label) for e in split.judge + checks}
    current = FixedScorer("old", {**truth, **{f"judged {i}": 0.9 for i in range(0, 24, 2)}})  # 12 misses
    better = FixedScorer("new", dict(truth))
    verdict = judge(current, better, split, checks, [], [], settings)
    assert verdict.promote, verdict.reason
    assert verdict.labels["fixed"] == 12 and verdict.labels["broken"] == 0
    assert verdict.labels["interval_90"][0] > 0 and verdict.labels["mcnemar_p"] < 0.001
    assert verdict.languages["en"] == {
        "kind": "labelled",
        "n": 40,
        "current": 1.0,
        "candidate": 1.0,
        "gates": True,
        "ok": True,
    }

    # a coin flip on the judged rows: no gain the bootstrap would trust
    flips = np.random.default_rng(3).random(60) < 0.5
    noisy = FixedScorer("noise", {**truth, **{f"judged {i}": float(f) for i, f in enumerate(flips)}})
    refused = judge(current, noisy, split, checks, [], [], settings)
    assert not refused.promote and "McNemar" in refused.reason

    lost_en = FixedScorer("new", {**truth, **{f"check {i}": 1 - truth[f"check {i}"] for i in range(4)}})
    assert (
        "en: macro-F1 on its check rows fell"
        in judge(current, lost_en, split, checks, [], [], settings).reason
    )

    # in the editor's own language their held-out labels judge; the check rows, labelled to
    # another house's taste, are reported
    es_checks = [replace(e, text=f"es {e.text}", lang="es") for e in checks]
    es_truth = {e.text: float(e.label) for e in es_checks}
    own_taste = FixedScorer("new", {**truth, **{e.text: 1 - es_truth[e.text] for e in es_checks[:4]}})
    current_es = FixedScorer("old", {**current.probs, **es_truth})
    kept = judge(current_es, own_taste, split, es_checks, [], [], settings)
    assert kept.promote and kept.languages["es"]["gates"] is False
    assert kept.languages["es"]["candidate"] < kept.languages["es"]["current"]

    # a language with neither labels nor check rows: the pooled headlines stand in
    pool = [f"Der Bürgermeister eröffnet die neue Brücke über den Fluss {i}" for i in range(10)]
    moved = FixedScorer("new", {**truth, **{h: 0.9 for h in pool[:3]}})
    verdict = judge(current, moved, split, checks, [], pool, settings)
    assert verdict.languages["de"] == {
        "kind": "agreement",
        "n": 10,
        "agreement": 0.7,
        "interval_90": [0.4417, 0.8731],  # Wilson's, 7 of 10 kept
        "ok": False,
    }
    assert not verdict.promote and "de: the candidate keeps 70.0%" in verdict.reason
    assert judge(current, better, split, checks, [], pool, settings).languages["de"]["ok"]


def _current_model(tmp_path: Path, tiny_base: Path) -> tuple[Path, Path]:
    """(its training file, a barely trained tiny model): the model a retrain starts from."""
    data = write_jsonl(tmp_path / "seed.jsonl", labelled_rows(copies=4))
    config = TrainConfig(
        data=[data],
        out=tmp_path / "current",
        base=str(tiny_base),
        epochs=1,
        samples_per_epoch=32,
        batch_size=16,
        max_length=32,
        holdout_fraction=0.25,
    )
    return data, train(config).out


@pytest.mark.slow
def test_a_retrain_from_the_base_starts_afresh(tmp_path: Path, tiny_base: Path) -> None:
    data, current = _current_model(tmp_path, tiny_base)
    labels = write_jsonl(
        tmp_path / "labels.jsonl",
        [
            {"text": f"{t} ({i})", "label": label}
            for i in range(6)
            for texts, label in ((NEWS, "news"), (CLICKBAIT, "clickbait"))
            for t in texts
        ],
    )
    settings = RetrainSettings(
        replay_data=[str(data)],
        steps=4,
        base_steps=6,
        batch_size=8,
        min_labels=10,
        holdout=0.3,
        max_length=32,
    )
    stages: list[str] = []
    result, verdict = retrain(
        current,
        labels,
        tmp_path / "candidate",
        settings,
        from_base=True,
        version="v-base",
        stage=stages.append,
    )
    recipe = result.manifest.training["config"]
    assert result.manifest.version == "v-base" and recipe["init_from"] is None
    assert recipe["samples_per_epoch"] == 6 * 8 and recipe["file_shares"] == {"labels": 0.5}
    assert verdict.candidate["version"] == "v-base" and verdict.current["version"] != "v-base"
    # its int8 form was checked on held-out rows, so `auto` may serve it with the fast engine
    assert stages == [
        "calibrating the candidate on held-out labels",
        "checking the candidate's int8 form",
        "judging the candidate",
    ]
    assert result.manifest.int8 is not None and (result.out / result.manifest.int8.scales_file).is_file()
    assert read_manifest(result.out).int8 == result.manifest.int8
    assert result.manifest.int8.onnx is not None  # and as ONNX Runtime runs it
    assert verdict.candidate["engine"] == choose_engine(result.manifest, "auto")
    # from the base: its own corrections, for the check rows' languages with enough rows
    assert {"en", "id", "tr"} <= set(read_manifest(result.out).languages)
    # a warm candidate keeps the current model's calibration, per-language corrections included
    corrected = read_manifest(current).model_copy(
        update={"languages": {"xx": LanguageCalibration(below=0.8, above=1.2, rows=200)}}
    )
    write_manifest(current, corrected)
    warm, warm_verdict = retrain(
        current, labels, tmp_path / "warm", settings.model_copy(update={"quantize": False}), version="v-warm"
    )
    assert warm.manifest.training["config"]["init_from"] == str(current)
    assert warm.manifest.int8 is None
    # the current model's own scores are the targets of the shipped headlines it replays
    assert warm.manifest.training["self_replay"]["reference"] > 500
    assert warm.manifest.training["replay_targets_from"] == read_manifest(current).version
    assert warm.manifest.threshold == read_manifest(current).threshold
    assert read_manifest(warm.out).languages == corrected.languages
    # the candidate scores the labels' languages (en 60, ro 24, es 12 ≥ min_labels); every other
    # goes to the current model, copied in
    assert warm.manifest.routing == Routing(languages=["en", "es", "ro"], fallback_version=corrected.version)
    assert read_manifest(warm.out).routing == warm.manifest.routing
    assert warm_verdict.candidate["routed_languages"] == ["en", "es", "ro"]
    assert warm_verdict.current["routed_languages"] is None
    assert read_manifest(warm.out / FALLBACK_DIR) == corrected
    assert "Routed: this model scores headlines in en, es, ro" in (warm.out / "README.md").read_text()
    routed, plain = Scorer.load(warm.out), Scorer.load(current)
    other = ["Meclis yeni bütçeyi kabul etti", "Presiden meresmikan jalan tol baru di Jawa"]
    assert list(routed.probabilities(other, langs=["tr", "id"]) >= routed.threshold) == list(
        plain.probabilities(other, langs=["tr", "id"]) >= plain.threshold
    )
    # a retrain of a routed model keeps the first fallback; without routing, one network for all
    again, _ = retrain(
        warm.out, labels, tmp_path / "again", settings.model_copy(update={"quantize": False}), version="v-2"
    )
    assert again.manifest.routing == warm.manifest.routing
    assert read_manifest(again.out / FALLBACK_DIR).version == corrected.version
    unrouted, _ = retrain(
        current,
        labels,
        tmp_path / "unrouted",
        settings.model_copy(update={"quantize": False, "route_languages": False}),
        version="v-all",
    )
    assert unrouted.manifest.routing is None and not (unrouted.out / FALLBACK_DIR).exists()


def test_a_warm_candidate_refits_only_the_editors_languages_with_enough_held_out_labels(
    tmp_path: Path, tiny_base: Path
) -> None:
    _, current = _current_model(tmp_path, tiny_base)
    kept = LanguageCalibration(below=0.9, above=1.1, rows=500)
    manifest = read_manifest(current).model_copy(update={"languages": {"en": kept, "tr": kept}})
    english = [
        Example(f"{t} ({i})", label, "en", None, "labels")
        for i in range(20)
        for texts, label in ((NEWS, 0), (CLICKBAIT, 1))
        for t in texts
    ]
    romanian = [Example(f"Guvernul a aprobat bugetul ({i})", i % 2, "ro", None, "labels") for i in range(40)]
    assert len(english) >= 150
    candidate = lambda: Scorer.load(current, ClassifierSettings(engine="fp32"))  # noqa: E731
    stages: list[str] = []
    refitted = editor_calibration(manifest, candidate, english + romanian, {"en", "ro"}, stages.append)
    assert refitted["en"].rows == len(english) and refitted["en"] != kept  # the editor's own labels
    assert refitted["tr"] == kept and "ro" not in refitted  # not the editor's; too few labels
    assert stages == ["calibrating the editor's languages on their held-out labels"]

    def never() -> Scorer:
        raise AssertionError("no language has enough held-out labels: the candidate need not be loaded")

    few = english[:100] + romanian
    assert editor_calibration(manifest, never, few, {"en", "ro"}) == manifest.languages
