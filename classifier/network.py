"""The classifier network: an encoder, mean pooling over real tokens, one linear head (the teaser
logit) and, where the artifact has them, one logit per kind of teaser (``Manifest.kinds``)."""

from __future__ import annotations

import torch
from torch import nn

from classifier.bert import BertEncoder


def mean_pooled(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of hidden states over non-padding tokens, as E5 was trained."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class HeadlineClassifier(nn.Module):
    """Returns one raw clickbait logit per headline; calibration happens outside."""

    def __init__(
        self,
        encoder: nn.Module,
        dropout: float = 0.0,
        kinds: int = 0,
        kinds_layer: int | None = None,
        kinds_normalised: bool = False,
    ) -> None:
        """``encoder``: transformers' model (training) or ``classifier.bert.BertEncoder`` (scoring);
        either returns the last hidden states first. ``kinds``: heads that say which kind of teaser
        (bait, tabloid) a headline is, read from the pooled vector after ``kinds_layer`` encoder
        layers (``Manifest.kinds_layer``; None: the last, the one the teaser head reads), scaled to
        unit length if ``kinds_normalised``."""
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, 1)
        self.kinds = nn.Linear(encoder.config.hidden_size, kinds) if kinds else None
        self.kinds_layer, self.kinds_normalised = kinds_layer, kinds_normalised

    def embed(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int | None = None
    ) -> torch.Tensor:
        """The pooled vector after ``layer`` encoder layers (None: the last)."""
        if layer is None:
            return mean_pooled(
                self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0], attention_mask
            )
        return mean_pooled(self._states(input_ids, attention_mask, layer)[1], attention_mask)

    def _states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the last hidden states, those after ``layer`` layers), from one pass of either encoder."""
        if isinstance(self.encoder, BertEncoder):  # keeps that one layer only
            return self.encoder(input_ids, attention_mask, layer=layer)
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out[0], out.hidden_states[layer]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = self.embed(input_ids, attention_mask)
        return self.head(self.dropout(pooled)).squeeze(-1)

    def outputs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[batch, 1 + kinds]: the teaser logit (``forward``'s, in eval mode), then each kind's."""
        if self.kinds is None:
            return self.head(self.embed(input_ids, attention_mask))
        if self.kinds_layer is None:
            pooled = read = self.embed(input_ids, attention_mask)
        else:
            last, earlier = self._states(input_ids, attention_mask, self.kinds_layer)
            pooled, read = mean_pooled(last, attention_mask), mean_pooled(earlier, attention_mask)
        if self.kinds_normalised:
            read = nn.functional.normalize(read, dim=-1)
        return torch.cat([self.head(pooled), self.kinds(read)], -1)
