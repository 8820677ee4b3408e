"""Small models for tests: the tokenizer files a test base copies, and the known model, a 0-layer
BERT whose answer is known (a headline is clickbait iff it contains ``TRIGGER``)."""

from __future__ import annotations

import shutil
from pathlib import Path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
TRIGGER = "SHOCKING"  # the one word the known model reacts to


def build_known_model(tokenizer_dir: Path, work: Path) -> Path:
    """The known model under ``work``: every embedding is zero except the pieces of TRIGGER, and the
    head reads exactly that direction. ``tokenizer_dir`` holds the bundled base's tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    from classifier.artifact import BaseRef, Manifest, save_artifact
    from classifier.base import load_encoder, load_tokenizer, resolve_base
    from classifier.network import HeadlineClassifier

    base_dir = work / "known-base"
    base_dir.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        shutil.copy(tokenizer_dir / name, base_dir / name)
    config = BertConfig(
        vocab_size=250037,
        hidden_size=8,
        num_hidden_layers=0,
        num_attention_heads=1,
        intermediate_size=8,
        max_position_embeddings=128,
        pad_token_id=1,
    )
    encoder = BertModel(config, add_pooling_layer=False)
    trigger_ids = load_tokenizer(tokenizer_dir).encode([f" {TRIGGER}"], 64)[0][1:-1]  # no <s>, </s>
    direction = torch.tensor([4.0, -4.0, 0, 0, 0, 0, 0, 0])
    with torch.no_grad():
        for table in (
            encoder.embeddings.word_embeddings,
            encoder.embeddings.position_embeddings,
            encoder.embeddings.token_type_embeddings,
        ):
            table.weight.zero_()
        encoder.embeddings.word_embeddings.weight[trigger_ids] = direction
    encoder.save_pretrained(base_dir)

    base = resolve_base(str(base_dir))
    network = HeadlineClassifier(load_encoder(base.path))
    with torch.no_grad():
        network.head.weight.copy_(torch.tensor([[20.0, -20.0, 0, 0, 0, 0, 0, 0]]))
        network.head.bias.fill_(-3.0)
    manifest = Manifest(
        version="known-1",
        base=BaseRef(name=base.name, sha256=base.sha256),
        method="full",
        threshold=0.5,
        temperature=1.0,
        max_length=64,
    )
    out = work / "artifact"
    save_artifact(network, manifest, out, "# known test model\n")
    return out
