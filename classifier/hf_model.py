"""Clickbait classifier for ``transformers``: BERT, mean pooling over real tokens, a linear head.

Written into every ``clickbait export --format hf`` directory and loaded by
``pipeline("text-classification", model=DIR, trust_remote_code=True)``. Self-contained: it imports
only torch and transformers. The head's two logits are ±logit/(2T), so the pipeline's softmax gives
the calibrated P(clickbait) of the clickbait engine; the ``"query: "`` prefix lives in the exported
tokenizer's normaliser. A model whose teaser score also takes a kind of teaser
(``clickbait_kinds_in_score``) has those kind heads here too, read after ``clickbait_kinds_layer``
layers (unit length if ``clickbait_kinds_normalised``): the clickbait logit is the highest of
logit/T and each kind's logit, as the engine's.

The config has a model type of its own: under ``"bert"`` transformers would load the directory
without this file as its stock BertForSequenceClassification, which pools the first token through a
pooler this network does not have (randomly initialised), and answer nonsense without an error.
Under a type it does not know, it loads this file or refuses (asks for ``trust_remote_code``).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


class ClickbaitBertConfig(BertConfig):
    model_type = "clickbait-bert"


class MeanPooledBertForSequenceClassification(BertPreTrainedModel):
    config_class = ClickbaitBertConfig

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        scored = getattr(config, "clickbait_kinds_in_score", None) or []
        self.kinds = nn.Linear(config.hidden_size, len(scored)) if scored else None
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        out = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=self.kinds is not None
        )
        mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)

        def pooled(hidden: torch.Tensor) -> torch.Tensor:
            return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

        logits = self.classifier(pooled(out.last_hidden_state))
        if self.kinds is not None:  # the teaser is any of the kinds in the score
            layer = getattr(self.config, "clickbait_kinds_layer", None)
            read = pooled(out.hidden_states[-1 if layer is None else layer])
            if getattr(self.config, "clickbait_kinds_normalised", False):
                read = nn.functional.normalize(read, dim=-1)
            kinds = self.kinds(read)
            teaser = torch.maximum(logits[:, 1] - logits[:, 0], kinds.max(dim=-1).values)
            logits = torch.stack([-teaser / 2, teaser / 2], dim=-1)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)
