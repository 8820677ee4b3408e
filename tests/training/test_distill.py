"""Distillation on tiny data: the command runs and writes a student that loads and follows its teacher."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from classifier.scorer import Scorer
from tests.conftest import CLICKBAIT, NEWS
from training.config import TrainConfig
from training.trainer import train


def test_distill_command_writes_a_loadable_student(tmp_path: Path, train_file: Path, tiny_base: Path) -> None:
    teacher = train(TrainConfig(
        data=[train_file], out=tmp_path / "teacher", base=str(tiny_base), method="full", epochs=12,
        samples_per_epoch=64, batch_size=16, lr=3e-3, head_lr=1e-2, eval_every=8, patience=50,
        holdout_fraction=0.25, max_length=32, seed=1,
    )).out
    unlabelled = tmp_path / "more.txt"
    unlabelled.write_text("Senate passes the farm bill\nYou will never guess this trick\n")
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "distill", "--teacher", str(teacher), "--layers", "1",
         "--data", str(train_file), "--unlabelled", str(unlabelled), "--out", str(tmp_path / "student"),
         "--epochs", "8", "--samples-per-epoch", "64", "--batch-size", "16", "--lr", "3e-3",
         "--holdout-fraction", "0.25", "--eval-every", "8", "--patience", "50", "--max-length", "32", "--seed", "1"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["layers"] == 1

    student = Scorer.load(tmp_path / "student")
    manifest = student.manifest
    assert manifest.layers == 1 and manifest.method == "full"
    assert len(student.network.encoder.encoder.layer) == 1
    assert manifest.training["distilled_from"] == Scorer.load(teacher).version
    assert manifest.training["unlabelled_rows"] == 2
    assert student.probabilities(CLICKBAIT).mean() > student.probabilities(NEWS).mean()
