"""The classifier network: an encoder, mean pooling over real tokens, one linear head (the teaser
logit) and, where the artifact has them, one logit per kind of teaser (``Manifest.kinds``)."""

from __future__ import annotations

import torch
from torch import nn


class HeadlineClassifier(nn.Module):
    """Returns one raw clickbait logit per headline; calibration happens outside."""

    def __init__(self, encoder: nn.Module, dropout: float = 0.0, kinds: int = 0) -> None:
        """``encoder``: transformers' model (training) or ``classifier.bert.BertEncoder`` (scoring);
        either returns the last hidden states first. ``kinds``: heads that say which kind of teaser
        (bait, tabloid) a headline is, read from the same pooled vector."""
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, 1)
        self.kinds = nn.Linear(encoder.config.hidden_size, kinds) if kinds else None

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over non-padding tokens, as E5 was trained."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = self.embed(input_ids, attention_mask)
        return self.head(self.dropout(pooled)).squeeze(-1)

    def outputs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[batch, 1 + kinds]: the teaser logit (``forward``'s, in eval mode), then each kind's."""
        pooled = self.embed(input_ids, attention_mask)
        heads = [self.head(pooled)] + ([self.kinds(pooled)] if self.kinds is not None else [])
        return torch.cat(heads, dim=-1)
