"""Token ids as transformers' tokenizer gives them, with per-call truncation on a shared tokenizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tokenizers import Tokenizer
from transformers import AutoTokenizer

from classifier.base import load_tokenizer
from classifier.text import QUERY_PREFIX
from classifier.tokenizer import HeadlineTokenizer
from tests.support.data import CLICKBAIT, NEWS

TEXTS = [QUERY_PREFIX + t for t in NEWS + CLICKBAIT] + ["", "\u200b\t x", "a " * 200, "😀 <s> ﬁ"]


@pytest.fixture(scope="module")
def ours(bundled_base) -> HeadlineTokenizer:
    """Our tokenizer of the bundled base, loaded once: every call says its own token cap."""
    return load_tokenizer(bundled_base.path)


@pytest.fixture(scope="module")
def theirs(bundled_base):
    """transformers' tokenizer of the bundled base, loaded once (each call says how to truncate)."""
    return AutoTokenizer.from_pretrained(bundled_base.path)


@pytest.mark.parametrize("max_length", [8, 16, 64])
def test_ids_equal_transformers(ours: HeadlineTokenizer, theirs, max_length: int) -> None:
    expected = theirs(TEXTS, truncation=True, max_length=max_length)["input_ids"]
    assert ours.encode(TEXTS, max_length) == expected
    assert max(len(ids) for ids in expected) == max_length  # the long text was cut


def test_one_tokenizer_serves_two_token_caps(ours: HeadlineTokenizer) -> None:
    long = ["a " * 200]
    assert [len(ours.encode(long, cap)[0]) for cap in (8, 32, 8)] == [8, 32, 8]


def test_pad_gives_mask_of_real_tokens(ours: HeadlineTokenizer) -> None:
    tokenizer = ours
    input_ids, mask = tokenizer.pad([[0, 5, 2], [0, 2]])
    assert input_ids.tolist() == [[0, 5, 2], [0, 2, tokenizer.pad_id]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert tokenizer.pad_id == 1  # the base's <pad>


@pytest.mark.parametrize("side", ["right", "left"])
def test_settings_saved_with_a_tokenizer_are_handled_as_transformers_does(
    bundled_base, tmp_path: Path, side: str
) -> None:
    """Hub tokenizer.json files often carry fixed padding and a truncation cap of their own, and a
    tokenizer_config.json may cut on the left."""
    shutil.copy(bundled_base.path / "config.json", tmp_path / "config.json")
    options = json.loads((bundled_base.path / "tokenizer_config.json").read_text())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({**options, "truncation_side": side}))
    saved = Tokenizer.from_file(str(bundled_base.path / "tokenizer.json"))
    saved.enable_padding(length=128, pad_id=1, pad_token="<pad>")
    saved.enable_truncation(20)
    saved.save(str(tmp_path / "tokenizer.json"))
    theirs = AutoTokenizer.from_pretrained(tmp_path)(TEXTS, truncation=True, max_length=64)["input_ids"]
    assert HeadlineTokenizer.load(tmp_path).encode(TEXTS, 64) == theirs
    assert max(len(ids) for ids in theirs) == 64  # neither the saved cap nor the saved padding applied
