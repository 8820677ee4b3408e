"""Token ids for headlines, from the base's own ``tokenizers.Tokenizer``.

transformers' tokenizer classes wrap the same Rust tokenizer, and for us add only cost: 0.7 s of
start-up (the wrapper re-reads the vocabulary in Python), the module imports that come with it,
and truncation that is state on the shared tokenizer. Here truncation is per call (each encoding
is cut to the token cap less the specials, then the base's template adds them), so models with
different token caps can share one tokenizer, which holds ~270 MB for the 250k-piece base. Padding
and truncation settings saved in a ``tokenizer.json`` are switched off, as transformers does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

TOKENIZER_FILE = "tokenizer.json"


class HeadlineTokenizer:
    """Encodes and pads; thread-safe (the Rust tokenizer is read-only here)."""

    def __init__(self, backend: Tokenizer, pad_id: int, truncation_side: str = "right") -> None:
        backend.no_padding()  # a tokenizer.json may carry its own; padding and truncation are done here
        backend.no_truncation()
        self.backend = backend
        self.pad_id = pad_id
        self.truncation_side = truncation_side
        self._specials = backend.num_special_tokens_to_add(is_pair=False)

    @classmethod
    def load(cls, path: Path) -> HeadlineTokenizer:
        """``tokenizer.json`` of a base directory; a base without one is converted by transformers."""
        if (path / TOKENIZER_FILE).is_file():
            backend = Tokenizer.from_file(str(path / TOKENIZER_FILE))
        else:
            from transformers import AutoTokenizer

            backend = AutoTokenizer.from_pretrained(path).backend_tokenizer
        pad_id = json.loads((path / "config.json").read_text()).get("pad_token_id")
        options = path / "tokenizer_config.json"
        side = (
            json.loads(options.read_text()).get("truncation_side", "right") if options.is_file() else "right"
        )
        return cls(backend, pad_id if pad_id is not None else 0, side)

    def encode(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        """Token ids with the base's special tokens, at most ``max_length`` of them per text."""
        encodings = self.backend.encode_batch(list(texts), add_special_tokens=False)
        ids = []
        for encoding in encodings:
            encoding.truncate(max_length - self._specials, direction=self.truncation_side)
            ids.append(self.backend.post_process(encoding).ids)
        return ids

    def pad(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """``input_ids`` padded on the right to the longest row, and the attention mask; built in
        numpy at once, not a few small tensor operations per row."""
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        mask = np.arange(lengths.max()) < lengths[:, None]
        input_ids = np.full(mask.shape, self.pad_id, dtype=np.int64)
        input_ids[mask] = np.concatenate(rows)
        return torch.from_numpy(input_ids), torch.from_numpy(mask.astype(np.int64))
