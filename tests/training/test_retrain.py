"""Retraining pieces: the fixed judging split, the training set with replay, the gate, from-base runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.artifact import read_manifest
from tests.conftest import CLICKBAIT, NEWS, labelled_rows, write_jsonl
from training.config import RetrainSettings, TrainConfig
from training.data import DataError, Example, read_file, sampling_weights
from training.retrain import judge, retrain, split_labels, training_set
from training.trainer import train


def _labels(n: int) -> list[Example]:
    return [Example(f"labelled headline {i}", i % 2, "en", None, "labels") for i in range(n)]


def test_the_judging_split_is_fixed_by_headline_and_needs_enough_labels() -> None:
    settings = RetrainSettings(holdout=0.3, min_labels=10)
    first = split_labels(_labels(200), settings)
    again = split_labels(list(reversed(_labels(200))), settings)
    assert {e.text for e in first[1]} == {e.text for e in again[1]} and 30 < len(first[1]) < 90
    grown = split_labels(_labels(300), settings)[1]  # more labels never move old ones out of judging
    assert {e.text for e in first[1]} <= {e.text for e in grown}
    with pytest.raises(DataError, match="at least 10"):
        split_labels(_labels(9), settings)


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
    """Stands for a model in the gate: fixed probabilities per headline."""

    def __init__(self, version: str, probs: dict[str, float], threshold: float = 0.5) -> None:
        self.version, self.probs, self.threshold, self.engine = version, probs, threshold, "fp32"

    def probabilities(self, texts: list[str]) -> np.ndarray:
        return np.array([self.probs[t] for t in texts])


def test_the_gate_wants_better_labels_and_at_most_a_margin_less_macro_f1() -> None:
    own = [Example("miss", 1, "en", None, "labels"), Example("hit", 0, "en", None, "labels")]
    evaluation = [Example(f"eval {i}", i % 2, "en", None, "eval") for i in range(20)]
    truth = {e.text: float(e.label) for e in own + evaluation}
    current = FixedScorer("old", {**truth, "miss": 0.1})
    better = FixedScorer("new", dict(truth))
    assert judge(current, better, own, evaluation, margin=0.005).promote

    worse_elsewhere = FixedScorer("new", {**truth, "eval 0": 0.9, "eval 1": 0.1})
    verdict = judge(current, worse_elsewhere, own, evaluation, margin=0.005)
    assert not verdict.promote and "macro-F1 fell" in verdict.reason
    assert judge(current, worse_elsewhere, own, evaluation, margin=0.2).promote
    same = judge(current, current, own, evaluation, margin=0.5)
    assert not same.promote and "did not improve" in same.reason
    assert same.rows == {"held_out_labels": 2, "evaluation_rows": 20}


def test_a_retrain_from_the_base_starts_afresh(tmp_path: Path, tiny_base: Path) -> None:
    data = write_jsonl(tmp_path / "seed.jsonl", labelled_rows(copies=4))
    current = train(
        TrainConfig(
            data=[data],
            out=tmp_path / "current",
            base=str(tiny_base),
            epochs=1,
            samples_per_epoch=32,
            batch_size=16,
            max_length=32,
            holdout_fraction=0.25,
        )
    ).out
    labels = write_jsonl(
        tmp_path / "labels.jsonl",
        [
            {"text": f"{t} ({i})", "label": label}
            for i in range(3)
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
    assert stages == ["checking the candidate's int8 form", "judging the candidate"]
    assert result.manifest.int8 is not None and (result.out / result.manifest.int8.scales_file).is_file()
    assert read_manifest(result.out).int8 == result.manifest.int8
    assert verdict.candidate["engine"] == ("int8" if result.manifest.int8.safe else "fp32")
    warm, _ = retrain(
        current, labels, tmp_path / "warm", settings.model_copy(update={"quantize": False}), version="v-warm"
    )
    assert warm.manifest.training["config"]["init_from"] == str(current)
    assert warm.manifest.int8 is None
