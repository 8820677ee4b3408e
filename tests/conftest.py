"""Shared fixtures: an isolated cache, the converted bundled base, a tiny random BERT, made-up data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel

from classifier.settings import get_settings

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")

NEWS = [
    "Parliament approves the 2025 state budget after a long debate",
    "Central bank keeps interest rate unchanged at 6.5 percent",
    "Guvernul a adoptat bugetul pe 2025 după o lungă dezbatere",
    "El Congreso aprueba la reforma de las pensiones",
    "Earthquake of magnitude 5.1 strikes the coast, no victims reported",
    "Ministerul Sănătății anunță noi măsuri pentru spitale",
    "Inflation slows to 4 percent in October, statistics office says",
    "Court sentences former mayor to four years for corruption",
]
CLICKBAIT = [
    "You won't believe what this actress looks like now!",
    "17 photos that will make you cry with laughter",
    "Nu o să-ți vină să crezi ce a făcut vedeta! Imagini incendiare",
    "¡No creerás lo que pasó después! Increíble",
    "This one weird trick doctors hate will change your life",
    "Wow sau Bau? Cât de mult s-au schimbat vedetele",
    "Which Disney princess are you? Take the quiz",
    "What happened next shocked everyone",
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def labelled_rows(copies: int = 1) -> list[dict]:
    """Distinct made-up headlines; ``copies`` > 1 adds numbered variants."""
    rows = []
    for i in range(copies):
        suffix = "" if i == 0 else f" ({i})"
        rows += [
            {"text": t + suffix, "label": "news", "lang": "xx", "source": f"site{j % 3}"}
            for j, t in enumerate(NEWS)
        ]
        rows += [
            {"text": t + suffix, "label": "clickbait", "lang": "xx", "source": f"farm{j % 3}"}
            for j, t in enumerate(CLICKBAIT)
        ]
    return rows


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
