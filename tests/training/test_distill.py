"""Distillation on tiny data: the command runs and writes a student that loads and follows its teacher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from classifier.scorer import Scorer
from classifier.settings import ClassifierSettings
from service.cli import build_parser
from tests.support.data import CLICKBAIT, NEWS
from training.augment import variants
from training.config import TrainConfig
from training.data import DataError, Example
from training.distill import UNLABELLED, Distillation, student_of
from training.trainer import train

pytestmark = pytest.mark.slow


@pytest.fixture()
def teacher(tmp_path: Path, train_file: Path, tiny_base: Path) -> Path:
    return train(
        TrainConfig(
            data=[train_file],
            out=tmp_path / "teacher",
            base=str(tiny_base),
            method="full",
            epochs=12,
            samples_per_epoch=64,
            batch_size=16,
            lr=3e-3,
            head_lr=1e-2,
            eval_every=8,
            patience=50,
            holdout_fraction=0.25,
            max_length=32,
            seed=1,
        )
    ).out


def test_distill_command_writes_a_loadable_student(tmp_path: Path, train_file: Path, teacher: Path) -> None:
    unlabelled = tmp_path / "more.txt"
    unlabelled.write_text("Senate passes the farm bill\nYou will never guess this trick\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "distill",
            "--teacher",
            str(teacher),
            "--layers",
            "1",
            "--data",
            str(train_file),
            "--unlabelled",
            str(unlabelled),
            "--augment",
            "xx=2",
            "--out",
            str(tmp_path / "student"),
            "--epochs",
            "8",
            "--samples-per-epoch",
            "64",
            "--batch-size",
            "16",
            "--lr",
            "3e-3",
            "--holdout-fraction",
            "0.25",
            "--eval-every",
            "8",
            "--patience",
            "50",
            "--max-length",
            "32",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["layers"] == 1

    student = Scorer.load(tmp_path / "student")
    manifest = student.manifest
    assert manifest.layers == 1 and manifest.method == "full"
    assert len(student.network.encoder.encoder.layer) == 1
    assert manifest.training["distilled_from"] == Scorer.load(teacher).version
    assert manifest.training["unlabelled_rows"] == 2 and manifest.training["augment"] == {"xx": 2}
    labelled_rows = Scorer.load(teacher).manifest.training["train_rows"]
    assert manifest.training["train_rows"] > labelled_rows + 2  # the variants of the training headlines
    assert student.probabilities(CLICKBAIT).mean() > student.probabilities(NEWS).mean()


def test_variants_keep_their_language_and_a_student_can_start_from_an_earlier_one(teacher: Path) -> None:
    scorer = Scorer.load(teacher, ClassifierSettings(engine="fp32"), trainable=True)
    earlier = student_of(scorer.network, 1)
    with torch.no_grad():
        earlier.head.bias.fill_(3.0)
    plan = Distillation(scorer, 1, augment={"xx": 3}, start=earlier)
    assert plan.student.head.bias.item() == 3.0 and plan.student is not earlier
    assert scorer.network.head.bias.item() != 3.0
    labelled = [Example(t, 0, "xx", None, "f") for t in NEWS] + [
        Example(t, 1, "yy", None, "f") for t in CLICKBAIT
    ]
    made = [v for v in variants(NEWS, 3, plan.seed) if v not in NEWS]
    held_out = [Example(v, 0, "xx", None, "f") for v in made[::2]]  # validation rows a variant could repeat
    rows, targets = plan.rows_and_targets(labelled, held_out)
    added = rows[len(labelled) :]
    assert not {e.text for e in added} & {e.text for e in held_out}
    assert sum(plan.added.values()) == len(added) and plan.record()["added_rows"] == {"xx": len(added)}
    teacher_says = scorer.probabilities([e.text for e in added]) >= scorer.threshold
    assert [e.label for e in added] == teacher_says.astype(int).tolist()
    expected = torch.sigmoid(torch.as_tensor(scorer.logits([e.text for e in rows])))
    torch.testing.assert_close(targets, expected)  # row by row: the teacher's uncalibrated scores
    assert 0 < len(added) <= 3 * len(NEWS)
    assert all(e.lang == "xx" and e.file == UNLABELLED for e in added)
    assert len({e.text for e in added}) == len(added) and not {e.text for e in added} & set(NEWS + CLICKBAIT)


def test_augmenting_a_language_without_training_rows_is_an_error(teacher: Path) -> None:
    plan = Distillation(
        Scorer.load(teacher, ClassifierSettings(engine="fp32"), trainable=True), 1, augment={"es": 2}
    )
    with pytest.raises(DataError, match="no training headline is in language 'es'"):
        plan.rows_and_targets([Example(t, 0, "xx", None, "f") for t in NEWS])


@pytest.mark.parametrize("given", ["es", "es=0", "=3", "es=two"])
def test_augment_wants_language_and_a_positive_count(given: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["distill", "--augment", given])
    assert "expected LANG=N" in capsys.readouterr().err
