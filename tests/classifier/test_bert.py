"""The lean inference encoder computes what transformers' BertModel computes, from the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from classifier.artifact import keep_layers
from classifier.base import load_encoder, load_inference_encoder, load_tokenizer
from classifier.bert import BertEncoder, PaddedLayout, load_bert, read_half_table
from classifier.text import QUERY_PREFIX
from tests.support.data import CLICKBAIT, NEWS


def _batch(path: Path, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    tokenizer = load_tokenizer(path)
    input_ids, mask = tokenizer.pad(tokenizer.encode([QUERY_PREFIX + t for t in texts], 64))
    return torch.from_numpy(input_ids), torch.from_numpy(mask)


def _hidden(encoder: torch.nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return (
            encoder(input_ids=input_ids, attention_mask=mask)[0] * mask[..., None]
        )  # padding rows are unused


def _reference(path: Path) -> torch.nn.Module:
    """transformers' BertModel with its word embeddings rounded to fp16, as the lean encoder stores them."""
    encoder = load_encoder(path).eval()
    with torch.no_grad():
        table = encoder.embeddings.word_embeddings.weight
        table.copy_(table.half().float())
    return encoder


def test_same_hidden_states_as_bert_model(tiny_base: Path) -> None:
    lean, reference = load_bert(tiny_base), _reference(tiny_base)
    assert isinstance(lean, BertEncoder)
    assert lean.state_dict().keys() == reference.state_dict().keys()
    input_ids, mask = _batch(tiny_base, NEWS + CLICKBAIT)  # lengths differ: padding and masking matter
    assert mask.min() == 0
    torch.testing.assert_close(
        _hidden(lean, input_ids, mask), _hidden(reference, input_ids, mask), atol=1e-5, rtol=1e-4
    )


def test_student_layer_cut_matches(tiny_base: Path) -> None:
    lean, reference = load_bert(tiny_base), _reference(tiny_base)
    keep_layers(lean, 1)
    keep_layers(reference, 1)
    assert lean.config.num_hidden_layers == 1 and len(lean.encoder.layer) == 1
    input_ids, mask = _batch(tiny_base, NEWS)
    torch.testing.assert_close(
        _hidden(lean, input_ids, mask), _hidden(reference, input_ids, mask), atol=1e-5, rtol=1e-4
    )


def test_fused_projections_compute_the_same_function(tiny_base: Path) -> None:
    lean = load_bert(tiny_base)
    input_ids, mask = _batch(tiny_base, NEWS + CLICKBAIT)
    before = _hidden(lean, input_ids, mask)
    for layer in lean.encoder.layer:
        layer.fuse_qkv()
    assert "self" not in lean.encoder.layer[0].attention and "qkv" in lean.encoder.layer[0].attention
    torch.testing.assert_close(_hidden(lean, input_ids, mask), before, atol=1e-6, rtol=1e-5)


def test_layers_compute_the_real_tokens_topped_up_to_whole_row_blocks(
    tiny_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PaddedLayout, "ROWS", 8)
    lean = load_bert(tiny_base)
    input_ids, mask = _batch(tiny_base, NEWS + CLICKBAIT)
    rows = []
    lean.encoder.layer[0].intermediate["dense"].register_forward_hook(
        lambda m, i, o: rows.append(i[0].shape[0])
    )
    with torch.inference_mode():
        hidden = lean(input_ids=input_ids, attention_mask=mask)[0]
    real = int(mask.sum())
    assert rows == [-(-real // 8) * 8] and rows[0] < mask.numel()
    assert hidden.shape == (*mask.shape, lean.config.hidden_size)
    assert not hidden[mask == 0].any() and hidden[mask == 1].abs().sum(-1).min() > 0


def test_padded_layout_tops_up_with_copies_of_real_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PaddedLayout, "ROWS", 4)
    mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0]])
    layout = PaddedLayout.of(mask)
    assert layout.where.tolist() == [0, 1, 2, 3, 6, 7, 0, 1] and layout.real == 6
    rows = torch.arange(16.0).view(8, 2)
    padded = layout.pad(rows)
    assert padded.shape == (3, 3, 2) and not padded[mask == 0].any()
    torch.testing.assert_close(padded[mask == 1], rows[:6])
    torch.testing.assert_close(layout.unpad(padded), torch.cat([rows[:6], rows[:2]]))
    assert len(PaddedLayout.of(torch.tensor([[1, 0]])).where) == 4  # fewer real tokens than copies needed


def test_real_base_matches_bert_model(bundled_base) -> None:
    lean, reference = load_inference_encoder(bundled_base.path), _reference(bundled_base.path)
    assert isinstance(lean, BertEncoder)
    input_ids, mask = _batch(bundled_base.path, NEWS[:3] + CLICKBAIT[:3])
    torch.testing.assert_close(
        _hidden(lean, input_ids, mask), _hidden(reference, input_ids, mask), atol=1e-4, rtol=1e-4
    )


@pytest.mark.parametrize(
    "change", [{"model_type": "roberta"}, {"hidden_act": "relu"}, {"position_embedding_type": "relative_key"}]
)
def test_other_configs_load_through_transformers(tiny_base: Path, tmp_path: Path, change: dict) -> None:
    for file in tiny_base.iterdir():
        (tmp_path / file.name).symlink_to(file)
    config = json.loads((tiny_base / "config.json").read_text())
    (tmp_path / "config.json").unlink()
    (tmp_path / "config.json").write_text(json.dumps({**config, **change}))
    assert load_bert(tmp_path) is None
    assert not isinstance(load_inference_encoder(tmp_path), BertEncoder)


def test_the_table_is_read_into_fp16_a_slice_at_a_time(tiny_base: Path) -> None:
    """Slices smaller than the table, so that the stitching is what is tested."""
    table = read_half_table(tiny_base / "model.safetensors", rows_per_read=1000)
    expected = load_encoder(tiny_base).embeddings.word_embeddings.weight.detach().half()
    assert table.dtype == torch.float16 and torch.equal(table, expected)


def test_config_round_trips_for_export(tiny_base: Path) -> None:
    config = json.loads((tiny_base / "config.json").read_text())
    assert load_bert(tiny_base).config.to_dict() == config
