"""Training smoke tests on a tiny random BERT: loss falls, scores move, artifacts load back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from classifier.scorer import Scorer
from tests.support.data import CLICKBAIT, NEWS
from training.checkpoint import Checkpoint, checkpoint_path
from training.config import TrainConfig
from training.data import DataError
from training.trainer import train

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, train_file: Path, tiny_base: Path, **extra) -> TrainConfig:
    values = {
        "data": [train_file],
        "out": tmp_path / "model",
        "base": str(tiny_base),
        "epochs": 12,
        "samples_per_epoch": 64,
        "batch_size": 16,
        "lr": 3e-3,
        "head_lr": 1e-2,
        "eval_every": 8,
        "patience": 50,
        "holdout_fraction": 0.25,
        "max_length": 32,
        "seed": 1,
    }
    values.update(extra)
    return TrainConfig(**values)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_training_learns_and_writes_a_loadable_artifact(tmp_path, train_file, tiny_base, method) -> None:
    config = _config(tmp_path, train_file, tiny_base, method=method)
    result = train(config)
    history = result.manifest.training["history"]
    assert history[-1]["loss"] < history[0]["loss"]

    scorer = Scorer.load(result.out)
    news, bait = scorer.probabilities(NEWS).mean(), scorer.probabilities(CLICKBAIT).mean()
    assert bait - news > 0.3, (news, bait)
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert manifest["method"] == method and manifest["base"]["name"] == str(tiny_base)
    assert manifest["data"][0]["rows"] == 64 and len(manifest["data"][0]["sha256"]) == 64
    assert {"torch", "transformers", "peft"} <= set(manifest["library_versions"])
    assert 0 < manifest["threshold"] < 1 and manifest["temperature"] > 0
    assert "macro_f1" in manifest["metrics"]["validation"]
    assert (result.out / "README.md").read_text().startswith("# Clickbait classifier")


def test_lora_artifact_is_small_and_round_trips_exactly(tmp_path, train_file, tiny_base) -> None:
    result = train(_config(tmp_path, train_file, tiny_base, epochs=2))
    files = {p.name for p in result.out.iterdir()}
    assert files == {"manifest.json", "head.safetensors", "adapter.safetensors", "README.md"}
    first, second = Scorer.load(result.out), Scorer.load(result.out)
    texts = NEWS + CLICKBAIT
    assert np.array_equal(first.probabilities(texts), second.probabilities(texts))
    validation = result.manifest.metrics["validation"]
    assert validation["n"] == result.manifest.training["validation_rows"]


def test_training_needs_both_labels(tmp_path, tiny_base) -> None:
    from tests.support.data import write_jsonl

    only_news = write_jsonl(tmp_path / "news.jsonl", [{"text": t, "label": "news"} for t in NEWS])
    with pytest.raises(DataError, match="both labels"):
        train(_config(tmp_path, only_news, tiny_base))


def test_a_stopped_run_goes_on_from_its_last_check(tmp_path, train_file, tiny_base) -> None:
    """Run again, the same command goes on from the checkpoint its last validation check wrote,
    and ends where an uninterrupted run ends; a checkpoint of another recipe is not gone on from."""
    knobs = {"epochs": 1.5, "eval_every": 2}
    whole = train(_config(tmp_path / "whole", train_file, tiny_base, **knobs))

    def interrupt(step: int, planned: int) -> None:
        if step == 5:
            raise KeyboardInterrupt

    stopped = _config(tmp_path / "stopped", train_file, tiny_base, **knobs)
    with pytest.raises(KeyboardInterrupt):
        train(stopped, progress=interrupt)
    kept = checkpoint_path(stopped.out)
    assert torch.load(kept, weights_only=True)["step"] == 4 and not stopped.out.exists()

    other = _config(tmp_path / "stopped", train_file, tiny_base, **knobs, lr=1e-3)
    steps_seen: list[int] = []
    with pytest.raises(KeyboardInterrupt):  # another recipe: from its first step, and replaced
        train(other, progress=lambda step, planned: steps_seen.append(step) or interrupt(step, planned))
    assert steps_seen[0] == 1

    with pytest.raises(KeyboardInterrupt):  # the first recipe again, stopped at the same step
        train(stopped, progress=interrupt)
    steps_seen.clear()
    resumed = train(stopped, progress=lambda step, planned: steps_seen.append(step))
    assert steps_seen[0] == 5 and not kept.exists()  # from step 4's check, not from the start
    assert resumed.manifest.training["history"] == whole.manifest.training["history"]
    for name in ("head.safetensors", "adapter.safetensors"):
        ours, theirs = load_file(str(resumed.out / name)), load_file(str(whole.out / name))
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs), name

    unkept = _config(tmp_path / "unkept", train_file, tiny_base, **knobs, checkpoints=False)
    with pytest.raises(KeyboardInterrupt):  # a retraining job's: nothing is written to go on from
        train(unkept, progress=interrupt)
    assert not checkpoint_path(unkept.out).exists()


def test_a_checkpoint_that_cannot_be_written_leaves_the_run_going(
    tmp_path, train_file, tiny_base, caplog
) -> None:
    """A full disk or a bad place for the checkpoint is logged; the run is not stopped by it."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the checkpoint's directory would be")
    config = _config(blocked / "sub", train_file, tiny_base, epochs=1, samples_per_epoch=32, eval_every=1)
    checkpoint = Checkpoint(config, [], torch.zeros(1), 2)
    checkpoint.save({"step": 1})
    assert not checkpoint.path.exists() and "no checkpoint written" in caplog.text
