"""Resolve a base encoder name (bundled, local directory or hub id) to a local HF directory."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from classifier.bundled import ensure_converted
from classifier.settings import BUNDLED_NAME, get_settings
from classifier.tokenizer import HeadlineTokenizer

if TYPE_CHECKING:
    from torch import nn

_HASHED_FILES = ("config.json", "tokenizer.json", "model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class ResolvedBase:
    """A base model as recorded in manifests: its name, where it lies and a content hash."""

    name: str
    path: Path
    sha256: str


def resolve_base(name: str = BUNDLED_NAME, cache_dir: Path | None = None) -> ResolvedBase:
    """Bundled name → converted cache entry; existing directory → itself; else a hub id."""
    if name == BUNDLED_NAME:
        path, sha = ensure_converted(cache_dir or get_settings().cache_dir)
        return ResolvedBase(name, path, sha)
    local = Path(name).expanduser()
    if local.is_dir():
        return ResolvedBase(name, local.resolve(), directory_sha256(local))
    from huggingface_hub import snapshot_download  # only reached for hub ids

    path = Path(snapshot_download(name))
    return ResolvedBase(name, path, directory_sha256(path))


def directory_sha256(path: Path) -> str:
    """Hash of the files that decide a model's behaviour (weights, config, tokenizer)."""
    digest = hashlib.sha256()
    for file_name in _HASHED_FILES:
        file = path / file_name
        if file.is_file():
            digest.update(file_name.encode())
            with file.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def load_encoder(path: Path) -> nn.Module:
    """The bare ``transformers`` encoder, for training; a missing pooler is expected (we mean-pool),
    so stay quiet about it."""
    from transformers import AutoConfig, AutoModel
    from transformers import logging as hf_logging

    config = AutoConfig.from_pretrained(path)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        return AutoModel.from_pretrained(path, config=config, add_pooling_layer=False)
    except TypeError:  # architectures without a pooler argument
        return AutoModel.from_pretrained(path, config=config)
    finally:
        hf_logging.set_verbosity(verbosity)


def load_inference_encoder(path: Path) -> nn.Module:
    """The encoder for scoring: ``classifier.bert``'s where it computes this base exactly (start-up
    without transformers' model classes), else transformers'."""
    from classifier.bert import load_bert

    encoder = load_bert(path)
    if encoder is None:
        logging.getLogger(__name__).info("%s is not a plain BERT encoder: loading it with transformers", path)
        return load_encoder(path)
    return encoder


@lru_cache(maxsize=1)
def load_tokenizer(path: Path) -> HeadlineTokenizer:
    """The base's tokenizer, shared by every model loaded on that base: a 250k-piece vocabulary is
    one of the larger things a served process holds (``docs/results/2026-11-29-footprint.md``), and a service
    swapping to a new version would otherwise keep two."""
    return HeadlineTokenizer.load(path)
