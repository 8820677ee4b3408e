"""A Unigram ``tokenizer.json`` (the bundled base's, XLM-R's) run by sentencepiece instead of ``tokenizers``.

``tokenizers`` keeps a Unigram vocabulary in a trie with a hash map per node: for the 250k pieces of
the bundled base that is more of the service's resident memory than torch's import. sentencepiece
runs the same model (pieces, scores, Viterbi over them) from a double-array trie in a fraction of
that, and faster (``docs/results/2026-11-29-footprint.md``). Everything around the model stays with
``tokenizers``, from the same ``tokenizer.json``: the normaliser, and the split on the special
tokens' text. Metaspace with ``prepend_scheme: always`` and ``split: true`` becomes sentencepiece's
dummy prefix and escaped spaces: the same pieces, since no piece holds ``▁`` past its start (checked
here).

One difference is known: sentencepiece sums piece scores in float32 and ``tokenizers`` in float64,
so where two segmentations of a word are equally likely to float32 precision they may pick
differently (a handful of the project's headlines: ``docs/results/2026-11-29-footprint.md``;
``tests/classifier/test_unigram.py`` holds the rest to ``tokenizers``' ids).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sentencepiece
from tokenizers import NormalizedString, PreTokenizedString, Token, Tokenizer

SPACE = "▁"
_NORMAL, _UNKNOWN, _CONTROL = 1, 2, 3  # sentencepiece's piece types
_UNIGRAM = 1


def fits(config: dict[str, Any]) -> bool:
    """Whether sentencepiece computes this ``tokenizer.json``'s ids (else ``tokenizers`` runs it)."""
    model, pre = config.get("model") or {}, config.get("pre_tokenizer") or {}
    return (
        model.get("type") == "Unigram"
        and not model.get("byte_fallback", False)
        and model.get("unk_id") is not None
        and pre.get("type") == "Metaspace"
        and pre.get("replacement") == SPACE
        and pre.get("prepend_scheme") == "always"
        and pre.get("split", True)
        and all(
            token.get("special")
            and not any(token.get(k) for k in ("normalized", "lstrip", "rstrip", "single_word"))
            for token in config.get("added_tokens", [])
        )
        and not any(SPACE in piece[1:] for piece, _ in model["vocab"])
    )


class UnigramPieces:
    """Piece ids of texts, without the special tokens a template adds; thread-safe."""

    def __init__(self, model_file: Path, rest: dict[str, Any]) -> None:
        """``rest``: what ``cached_parts`` keeps of the ``tokenizer.json`` besides the model."""
        self.model = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        self.specials: dict[str, int] = rest["specials"]
        self._special = re.compile(
            "|".join(re.escape(s) for s in sorted(self.specials, key=len, reverse=True))
        )
        self.rest = Tokenizer.from_str(
            json.dumps(rest["tokenizer"])
        )  # normaliser and template, no vocabulary
        self.normalizer = self.rest.normalizer  # None where the file has none
        self._space = self.model.piece_to_id(SPACE)

    @classmethod
    def load(cls, tokenizer_file: Path, cache_dir: Path) -> UnigramPieces | None:
        """The file's model, converted once into ``cache_dir``; None if sentencepiece cannot run it."""
        parts = cached_parts(tokenizer_file, cache_dir / "tokenizers")
        return None if parts is None else cls(parts, json.loads(parts.with_suffix(".json").read_text()))

    def _segments(self, text: str) -> list[str | int]:
        """``text`` cut at the special tokens' text (their ids) into normalised segments, as
        ``tokenizers`` cuts it before normalising."""
        out: list[str | int] = []
        start = 0
        for match in self._special.finditer(text) if self.specials else ():
            out += [self._normalized(text[start : match.start()]), self.specials[match.group()]]
            start = match.end()
        return [*out, self._normalized(text[start:])]

    def _normalized(self, text: str) -> str:
        return self.normalizer.normalize_str(text) if self.normalizer else text

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        segments = [self._segments(text) for text in texts]
        plain = [s for parts in segments for s in parts if isinstance(s, str)]
        # Metaspace prepends ▁ where a segment does not start with a space, which it turns into ▁
        pieces = iter(self.model.encode([s.removeprefix(" ") for s in plain]))
        ids = []
        for parts in segments:
            row: list[int] = []
            for part in parts:
                if isinstance(part, int):
                    row.append(part)
                elif (found := next(pieces)) or part:  # " " alone is ▁ alone
                    row += found or [self._space]
            ids.append(row)
        return ids

    def spans(self, text: str) -> tuple[list[int], list[int]]:
        """Each piece's start in ``text`` (characters) and its word's index, as ``tokenizers``'
        ``Encoding.offsets`` and ``word_ids`` give them."""
        starts: list[int] = []
        words: list[int] = []
        start = 0
        matches = list(self._special.finditer(text)) if self.specials else []
        bounds = [(m.start(), m.end()) for m in matches] + [(len(text), len(text))]
        for end, next_start in bounds:
            if end > start:
                encoding = self._segment_encoding(text[start:end])
                starts += [start + offset for offset, _ in encoding.offsets]
                first = (words[-1] + 1) if words else 0
                words += [first + w for w in encoding.word_ids]
            if next_start > end:  # a special token: a word of its own
                starts.append(end)
                words.append((words[-1] + 1) if words else 0)
            start = next_start
        return starts, words

    def _segment_encoding(self, text: str):
        pretokenized = PreTokenizedString(text)
        if self.normalizer:
            pretokenized.normalize(lambda normalized: self.normalizer.normalize(normalized))
        pretokenized.split(_metaspace)
        pretokenized.tokenize(self._word_tokens)
        return pretokenized.to_encoding()

    def _word_tokens(self, word: str) -> list[Token]:
        """A ``▁``-led word's pieces with their spans in it (the dummy prefix stands for the ``▁``)."""
        text = word.removeprefix(SPACE)
        if not text:  # ▁ alone
            return [Token(self._space, SPACE, (0, len(word.encode())))]
        ids, pieces = self.model.encode(text), self.model.encode(text, out_type=str)  # unknown: its text
        tokens, at = [], 0  # offsets in bytes of the word, as tokenizers' models give them
        for piece_id, piece in zip(ids, pieces, strict=True):
            end = at + len(piece.encode())
            tokens.append(Token(piece_id, piece, (at, end)))
            at = end
        return tokens


def cached_parts(tokenizer_file: Path, cache_dir: Path) -> Path | None:
    """``<hash>.model`` (sentencepiece's) and ``<hash>.json`` (the special tokens, and the file less
    its vocabulary) in ``cache_dir``, written on first use: reading them takes a fraction of the time
    that parsing the whole ``tokenizer.json`` does. Returns the model's path; None where the file's
    model is not one sentencepiece computes."""
    raw = tokenizer_file.read_bytes()
    model_file = cache_dir / f"{hashlib.sha256(raw).hexdigest()[:16]}.model"
    if model_file.is_file() and model_file.with_suffix(".json").is_file():
        return model_file
    config = json.loads(raw)
    if not fits(config):
        return None
    specials = {token["content"]: token["id"] for token in config["added_tokens"]}
    bare = {**config, "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}}
    bare["added_tokens"] = []
    cache_dir.mkdir(parents=True, exist_ok=True)
    rest = json.dumps({"specials": specials, "tokenizer": bare}).encode()
    for path, payload in (
        (model_file.with_suffix(".json"), rest),
        (model_file, sentencepiece_model(config["model"], set(specials))),
    ):
        fd, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=cache_dir)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(staging, 0o644)
        os.replace(staging, path)  # readers see a whole file or none
    return model_file


def _metaspace(_index: int, normalized: NormalizedString) -> list[NormalizedString]:
    """Spaces to ``▁``, one prepended, split before each ``▁``: Metaspace(always, split)."""
    normalized.replace(" ", SPACE)
    if not normalized.normalized.startswith(SPACE):
        normalized.prepend(SPACE)
    return normalized.split(SPACE, "merged_with_next")


def sentencepiece_model(model: dict[str, Any], specials: set[str]) -> bytes:
    """A sentencepiece ``ModelProto`` for a ``tokenizers`` Unigram model: its pieces and scores, the
    unknown piece, the special tokens as control pieces (never matched in text), no normalisation
    of its own (``tokenizers``' normaliser runs first). Written field by field (wire format), the
    few fields needed: sentencepiece's generated protobuf module pins protobuf's exact release."""
    unk = model["unk_id"]
    pieces = b"".join(
        _field(
            1,
            _field(1, piece.encode())
            + _key(2, 5)
            + struct.pack("<f", score)
            + _key(3, 0)
            + _varint(_UNKNOWN if i == unk else _CONTROL if piece in specials else _NORMAL),
        )
        for i, (piece, score) in enumerate(model["vocab"])
    )
    trainer = _key(3, 0) + _varint(_UNIGRAM) + _key(40, 0) + _varint(unk) + _key(35, 0) + _varint(0)
    normalizer = (
        _field(1, b"identity")
        + _key(3, 0)
        + _varint(1)  # add_dummy_prefix
        + _key(4, 0)
        + _varint(0)  # remove_extra_whitespaces: the normaliser already did what it should
        + _key(5, 0)
        + _varint(1)  # escape_whitespaces: spaces become ▁
    )
    return pieces + _field(2, trainer) + _field(3, normalizer)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _field(field: int, payload: bytes) -> bytes:
    """A length-delimited field: a string or a nested message."""
    return _key(field, 2) + _varint(len(payload)) + payload
