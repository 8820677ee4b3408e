"""The classifier network: an encoder, mean pooling over real tokens, one linear head."""

from __future__ import annotations

import torch
from torch import nn


class HeadlineClassifier(nn.Module):
    """Returns one raw clickbait logit per headline; calibration happens outside."""

    def __init__(self, encoder: nn.Module, dropout: float = 0.0) -> None:
        """``encoder``: transformers' model (training) or ``classifier.bert.BertEncoder`` (scoring);
        either returns the last hidden states first."""
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, 1)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over non-padding tokens, as E5 was trained."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = self.embed(input_ids, attention_mask)
        return self.head(self.dropout(pooled)).squeeze(-1)
