"""Token ids as transformers' tokenizer gives them, with per-call truncation on a shared tokenizer."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from classifier.base import load_tokenizer
from classifier.text import QUERY_PREFIX
from tests.conftest import CLICKBAIT, NEWS

TEXTS = [QUERY_PREFIX + t for t in NEWS + CLICKBAIT] + ["", "\u200b\t x", "a " * 200, "😀 <s> ﬁ"]


@pytest.mark.parametrize("max_length", [8, 16, 64])
def test_ids_equal_transformers(bundled_base, max_length: int) -> None:
    ours = load_tokenizer(bundled_base.path)
    theirs = AutoTokenizer.from_pretrained(bundled_base.path)
    expected = theirs(TEXTS, truncation=True, max_length=max_length)["input_ids"]
    assert ours.encode(TEXTS, max_length) == expected
    assert max(len(ids) for ids in expected) == max_length  # the long text was cut


def test_one_tokenizer_serves_two_token_caps(bundled_base) -> None:
    tokenizer = load_tokenizer(bundled_base.path)
    long = ["a " * 200]
    assert [len(tokenizer.encode(long, cap)[0]) for cap in (8, 32, 8)] == [8, 32, 8]


def test_pad_gives_mask_of_real_tokens(bundled_base) -> None:
    tokenizer = load_tokenizer(bundled_base.path)
    input_ids, mask = tokenizer.pad([[0, 5, 2], [0, 2]])
    assert input_ids.tolist() == [[0, 5, 2], [0, 2, tokenizer.pad_id]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert tokenizer.pad_id == 1  # the base's <pad>
