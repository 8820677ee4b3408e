"""sentencepiece runs a Unigram tokenizer.json as tokenizers does: same ids, same piece spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from classifier.base import load_tokenizer
from classifier.text import QUERY_PREFIX
from classifier.unigram import UnigramPieces, cached_parts, fits
from tests.support.data import CLICKBAIT, NEWS

EDGES = [
    "a<s>b",  # special tokens' text is cut out before normalising, as tokenizers does
    "😀 <s> ﬁ",
    " <s>",
    "x </s> y",
    "<mask><mask>",
    "  ",  # a segment that normalises to a lone space is ▁ alone
    "\u200b",
    "a\u200b",
    "\u200b b",
    "a  <pad>  b",
    "",
    "x\x07 y",
    "<s >",
    "ﬁﬁ straße ½ Ⅻ",
    "\tTab\u200bbed  text",
    "日本語のテキスト",
    "Ahhhhh 🤯🤯 ok!!!",
]
TEXTS = [QUERY_PREFIX + t for t in NEWS + CLICKBAIT] + EDGES


@pytest.fixture(scope="module")
def pieces(bundled_base, isolated_cache: Path) -> UnigramPieces:
    found = UnigramPieces.load(bundled_base.path / "tokenizer.json", isolated_cache)
    assert found is not None
    return found


def test_the_bundled_base_runs_in_sentencepiece(bundled_base) -> None:
    assert load_tokenizer(bundled_base.path).pieces is not None


def test_ids_equal_tokenizers(pieces: UnigramPieces, bundled_base) -> None:
    theirs = Tokenizer.from_file(str(bundled_base.path / "tokenizer.json"))
    expected = [e.ids for e in theirs.encode_batch(TEXTS, add_special_tokens=False)]
    assert pieces.encode(TEXTS) == expected


def test_spans_equal_tokenizers_offsets_and_words(pieces: UnigramPieces, bundled_base) -> None:
    theirs = Tokenizer.from_file(str(bundled_base.path / "tokenizer.json"))
    for text in TEXTS:
        encoding = theirs.encode(text, add_special_tokens=False)
        assert pieces.spans(text) == ([start for start, _ in encoding.offsets], encoding.word_ids), text


def _unigram_file(path: Path, byte_fallback: bool = False, normalise: bool = True) -> Path:
    vocab = [
        ("<unk>", 0.0),
        ("<s>", 0.0),
        ("</s>", 0.0),
        ("▁", -2.0),
        ("▁ab", -1.0),
        ("a", -3.0),
        ("b", -3.0),
    ]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=byte_fallback))
    if normalise:
        tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.add_special_tokens(["<s>", "</s>"])
    tokenizer.save(str(path))
    return path


@pytest.mark.parametrize("normalise", [True, False])
def test_a_model_is_converted_once_and_read_back(tmp_path: Path, normalise: bool) -> None:
    file = _unigram_file(tmp_path / "tokenizer.json", normalise=normalise)
    model = cached_parts(file, tmp_path / "cache")
    assert model is not None and model.with_suffix(".json").is_file()
    written = model.stat().st_mtime_ns
    assert cached_parts(file, tmp_path / "cache") == model and model.stat().st_mtime_ns == written
    pieces = UnigramPieces.load(file, tmp_path / "cache")
    texts = ["ab ab", "ba <s> c", "a b", "ａｂ ab"]
    expected = [e.ids for e in Tokenizer.from_file(str(file)).encode_batch(texts, add_special_tokens=False)]
    assert pieces.encode(texts) == expected


def test_other_models_stay_with_tokenizers(tmp_path: Path, tiny_base: Path) -> None:
    config = json.loads(_unigram_file(tmp_path / "tokenizer.json", byte_fallback=True).read_text())
    assert not fits(config)
    wordpiece = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    assert not fits(json.loads(wordpiece.to_str()))
    assert fits(json.loads((tiny_base / "tokenizer.json").read_text()))
