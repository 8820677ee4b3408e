"""Training launched by ``torchrun`` on 2 CPU processes (gloo) takes the same steps as a lone run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from classifier.base import load_tokenizer
from classifier.scorer import Scorer
from tests.support.data import CLICKBAIT, NEWS
from training.config import TrainConfig
from training.parallel import Workers
from training.trainer import train

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def still_base(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random BERT without dropout: lone and launched runs then compute the same steps."""
    out = tmp_path_factory.mktemp("still-bert")
    config = BertConfig.from_pretrained(tiny_base)
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    model = BertModel.from_pretrained(tiny_base, config=config, add_pooling_layer=False)
    model.save_pretrained(out)
    for name in TOKENIZER_FILES:
        shutil.copy(tiny_base / name, out / name)
    load_tokenizer(out)  # fails here, not inside the launched processes, if the copy is incomplete
    return out


def _recipe(tmp_path: Path, train_file: Path, base: Path, out: str) -> Path:
    recipe = tmp_path / f"{out}.toml"
    recipe.write_text(
        f'data = ["{train_file}"]\nout = "{tmp_path / out}"\nbase = "{base}"\nmethod = "full"\n'
        "epochs = 8\nsamples_per_epoch = 64\nbatch_size = 16\nlr = 3e-3\nhead_lr = 1e-2\nhead_dropout = 0.0\n"
        'eval_every = 8\npatience = 50\nholdout_fraction = 0.25\nmax_length = 32\nseed = 1\ndevice = "cpu"\n'
    )
    return recipe


def test_torchrun_two_cpu_processes_train_like_one(tmp_path, train_file, still_base) -> None:
    lone = train(TrainConfig.from_sources(_recipe(tmp_path, train_file, still_base, "lone"), {}))

    recipe = _recipe(tmp_path, train_file, still_base, "launched")
    launched = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "service.cli",
            "train",
            "--config",
            str(recipe),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    manifest = json.loads((tmp_path / "launched" / "manifest.json").read_text())
    assert manifest["training"]["processes"] == 2 and lone.manifest.training["processes"] == 1
    assert [h["step"] for h in manifest["training"]["history"]] == [
        h["step"] for h in lone.manifest.training["history"]
    ]
    assert launched.stdout.count('"model"') == 1  # only the main process reports

    texts = NEWS + CLICKBAIT
    ours, theirs = Scorer.load(lone.out).logits(texts), Scorer.load(tmp_path / "launched").logits(texts)
    assert np.abs(ours).max() > 0.5  # it learned something, so agreement below says something
    np.testing.assert_allclose(theirs, ours, atol=1e-3)


def test_a_lone_process_trains_on_whole_batches_without_a_process_group() -> None:
    workers = Workers.start("cpu")
    assert workers.accelerator is None and workers.device.type == "cpu"
    assert workers.count == 1 and workers.is_main and workers.agree(7) == 7
    assert workers.shard(torch.arange(4)).tolist() == [0, 1, 2, 3]
