"""Token ids for headlines, from the base's own ``tokenizer.json``.

transformers' tokenizer classes wrap the same Rust tokenizer, and for us add only cost: start-up
time and memory (the wrapper re-reads the vocabulary in Python:
``docs/results/2026-11-29-engines.md``), the module imports that come with it, and truncation that
is state on the shared tokenizer. Here truncation is per call (each encoding is cut to the token cap
less the specials, then the base's template adds them), so models with different token caps can
share one tokenizer. Padding and truncation settings saved in a ``tokenizer.json`` are switched off,
as transformers does. A Unigram model such as the bundled base's 250k pieces runs in sentencepiece
(``classifier/unigram.py``: a fraction of the memory that ``tokenizers`` holds for it); any other
model in ``tokenizers``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from classifier.settings import get_settings
from classifier.unigram import UnigramPieces

TOKENIZER_FILE = "tokenizer.json"


class HeadlineTokenizer:
    """Encodes and pads; thread-safe (the tokenizers are read-only here)."""

    def __init__(
        self,
        backend: Tokenizer,
        pad_id: int,
        truncation_side: str = "right",
        pieces: UnigramPieces | None = None,
    ) -> None:
        """``backend``: the base's tokenizer; with ``pieces``, which computes the pieces, its rest
        (normaliser and template) without a vocabulary."""
        backend.no_padding()  # a tokenizer.json may carry its own; padding and truncation are done here
        backend.no_truncation()
        self.backend, self.pieces = backend, pieces
        self.pad_id = pad_id
        self.truncation_side = truncation_side
        probe = backend.encode("a")  # the template's special tokens around one text's pieces
        own = [i for i, sequence in enumerate(probe.sequence_ids) if sequence == 0]
        self._prefix, self._suffix = probe.ids[: own[0]], probe.ids[own[-1] + 1 :]

    @classmethod
    def load(cls, path: Path) -> HeadlineTokenizer:
        """``tokenizer.json`` of a base directory; a base without one is converted by transformers."""
        file = path / TOKENIZER_FILE
        pieces = UnigramPieces.load(file, get_settings().cache_dir) if file.is_file() else None
        if pieces is not None:
            backend = pieces.rest
        elif file.is_file():
            backend = Tokenizer.from_file(str(file))
        else:
            from transformers import AutoTokenizer

            backend = AutoTokenizer.from_pretrained(path).backend_tokenizer
        pad_id = json.loads((path / "config.json").read_text()).get("pad_token_id")
        options = path / "tokenizer_config.json"
        side = (
            json.loads(options.read_text()).get("truncation_side", "right") if options.is_file() else "right"
        )
        return cls(backend, pad_id if pad_id is not None else 0, side, pieces)

    def encode(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        """Token ids with the base's special tokens, at most ``max_length`` of them per text."""
        if self.pieces is not None:
            rows = self.pieces.encode(texts)
        else:
            rows = [e.ids for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]
        room = max(0, max_length - len(self._prefix) - len(self._suffix))
        if self.truncation_side == "left":
            rows = [row[len(row) - room :] if room else [] for row in rows]
        else:
            rows = [row[:room] for row in rows]
        return [self._prefix + row + self._suffix for row in rows]

    def spans(self, text: str) -> tuple[list[int], list[int]]:
        """Each piece of ``text`` (no special tokens added): where it starts in ``text`` (characters)
        and the index of the word it belongs to."""
        if self.pieces is not None:
            return self.pieces.spans(text)
        encoding = self.backend.encode(text, add_special_tokens=False)
        return [start for start, _ in encoding.offsets], encoding.word_ids

    def pad(self, rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` padded on the right to the longest row, and the attention mask (int64 arrays,
        which ``torch.from_numpy`` shares); built at once, not a few operations per row."""
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        mask = np.arange(lengths.max()) < lengths[:, None]
        input_ids = np.full(mask.shape, self.pad_id, dtype=np.int64)
        input_ids[mask] = np.concatenate(rows)
        return input_ids, mask.astype(np.int64)
