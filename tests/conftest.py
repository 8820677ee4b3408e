"""Shared fixtures: an isolated cache, the converted bundled base, the default model loaded once, a tiny
random BERT, made-up data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel

from classifier.settings import get_settings
from tests.support.data import labelled_rows, write_jsonl
from tests.support.models import TOKENIZER_FILES


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test converts into (and reads from) one cache of its own session."""
    cache = tmp_path_factory.mktemp("cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("CLICKBAIT_CACHE_DIR", str(cache))
    patch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    yield cache
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def bundled_base():
    from classifier.base import resolve_base

    return resolve_base()


@pytest.fixture(scope="session")
def default_fp32(isolated_cache: Path):
    """The committed default model on the fp32 engine, loaded once for the tests that only score with
    it (a Scorer is read-only once loaded)."""
    from classifier.scorer import Scorer
    from classifier.settings import ClassifierSettings

    return Scorer.load("default", ClassifierSettings(engine="fp32"))


@pytest.fixture(scope="session")
def tiny_base(bundled_base, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT with the real multilingual tokenizer."""
    out = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=250037,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=1,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(out)
    for name in TOKENIZER_FILES:
        shutil.copy(bundled_base.path / name, out / name)
    return out


@pytest.fixture()
def train_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "train.jsonl", labelled_rows(copies=4))


@pytest.fixture(autouse=True)
def isolated_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own label database and model registry."""
    data = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("CLICKBAIT_DATA_DIR", str(data))
    return data
