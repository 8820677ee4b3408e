"""Is this a BERT the lean engines compute? One answer for all of them (``classifier.bert``,
``classifier.numpy_bert`` and the onnx engine built on it, ``classifier.export``): absolute
positions, exact GELU, an encoder, the fields the forward pass reads."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class BertShape:
    """The fields of a BERT ``config.json`` that the forward pass reads; ``extra`` keeps the rest so
    that ``to_dict`` gives back the whole config (for export)."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    extra: dict[str, Any]
    type_vocab_size: int = 2  # BertConfig's defaults, for configs that leave these out
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = None

    @classmethod
    def read(cls, path: Path) -> BertShape | None:
        """The ``config.json`` in ``path`` (``of``)."""
        return cls.of(json.loads((path / "config.json").read_text()))

    @classmethod
    def of(cls, config: dict[str, Any]) -> BertShape | None:
        """A BERT config's shape, or None where it asks for more than the lean engines compute."""
        supported = (
            config.get("model_type") == "bert"
            and config.get("hidden_act", "gelu") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and not config.get("is_decoder", False)
        )
        required = (
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "vocab_size",
            "max_position_embeddings",
        )
        if not supported or any(name not in config for name in required):  # transformers knows the defaults
            return None
        fields = {name: config[name] for name in cls.__dataclass_fields__ if name in config}
        return cls(**fields, extra={k: v for k, v in config.items() if k not in fields})

    def to_dict(self) -> dict[str, Any]:
        fields = asdict(self)
        return {**fields.pop("extra"), **fields}
