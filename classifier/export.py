"""Export a trained artifact for other stacks: a merged Hugging Face model or an ONNX graph.

Both formats fold the temperature into a two-logit head (±logit/(2T)), so softmax gives the
calibrated P(clickbait), and write a tokenizer whose normaliser does what the engine does before
tokenising: whitespace runs collapsed, ends stripped, ``"query: "`` prepended. The model's threshold
is in ``config.json`` as ``clickbait_threshold``. The per-language corrections cannot be folded into
a graph that knows no language: they are in ``config.json`` as ``clickbait_languages`` (language →
below, above, offset: docs/scoring.md) for a caller who knows each headline's language; the graph
gives the global calibration. So are the kind heads' language offsets (``clickbait_kinds_offsets``):
the graph holds the offset for any language not listed (``und``'s).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig

from classifier.artifact import ArtifactError
from classifier.bert import dense_state_dict
from classifier.bert_shape import BertShape
from classifier.hf_model import ClickbaitBertConfig, MeanPooledBertForSequenceClassification
from classifier.scorer import Scorer, logit
from classifier.text import QUERY_PREFIX

MODELING_FILE = "modeling_clickbait.py"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def merged_model(scorer: Scorer) -> MeanPooledBertForSequenceClassification:
    """The fp32 network as one ``transformers`` model with the calibrated two-logit head."""
    if scorer.fallback is not None:
        raise ArtifactError(
            f"model {scorer.version} is routed: two networks, chosen by each headline's language, "
            "which one graph cannot hold; export its fallback/ directory, or a model retrained with "
            "CLICKBAIT_RETRAIN_ROUTE_LANGUAGES=false"
        )
    encoder = scorer.network.encoder
    if BertShape.of(encoder.config.to_dict()) is None:
        raise ArtifactError(
            f"export supports BERT encoders, not {encoder.config.to_dict().get('model_type')}"
        )
    config = ClickbaitBertConfig.from_dict(_without(encoder.config.to_dict(), "model_type"))
    news, clickbait = scorer.manifest.labels
    config.num_labels = 2
    config.id2label, config.label2id = {0: news, 1: clickbait}, {news: 0, clickbait: 1}
    config.architectures = [MeanPooledBertForSequenceClassification.__name__]
    module = MODELING_FILE.removesuffix(".py")
    config.auto_map = {  # the only way in: transformers knows no "clickbait-bert" of its own
        "AutoConfig": f"{module}.{ClickbaitBertConfig.__name__}",
        "AutoModelForSequenceClassification": f"{module}.{config.architectures[0]}",
    }
    config.clickbait_threshold = scorer.threshold
    config.clickbait_kinds_in_score = scorer.manifest.kinds_in_score
    config.clickbait_kinds_layer = scorer.manifest.kinds_layer
    config.clickbait_kinds_normalised = scorer.manifest.kinds_normalised
    config.clickbait_version = scorer.version
    config.clickbait_kinds_offsets = scorer.manifest.kinds_offsets
    config.clickbait_languages = {
        lang: c.model_dump(include={"below", "above", "offset"})
        for lang, c in scorer.manifest.languages.items()
    }
    model = MeanPooledBertForSequenceClassification(config)
    model.bert.load_state_dict(dense_state_dict(encoder))
    half = 0.5 / scorer.manifest.temperature
    with torch.no_grad():
        weight, bias = scorer.network.head.weight[0], scorer.network.head.bias[0]
        model.classifier.weight.copy_(torch.stack([-weight, weight]) * half)
        model.classifier.bias.copy_(torch.stack([-bias, bias]) * half)
        if model.kinds is not None:
            rows = [scorer.manifest.kinds.index(kind) for kind in scorer.manifest.kinds_in_score]
            model.kinds.weight.copy_(scorer.network.kinds.weight[rows])
            # on the threshold's logit, as Scorer.teaser_logits places them, with the offset of a
            # language the model has no mean for (the graph knows no language)
            anyone = scorer.centred(np.zeros((1, 1 + len(scorer.manifest.kinds)), np.float32), None)[0, 1:]
            model.kinds.bias.copy_(
                scorer.network.kinds.bias[rows]
                + torch.from_numpy(anyone[rows])
                + float(logit(scorer.threshold))
            )
    return model.eval()


def graph_config(config: ClickbaitBertConfig) -> BertConfig:
    """The ONNX graph holds the whole network, pooling and head included, so its directory describes
    it as stock BERT: readers of ONNX directories (and AutoTokenizer, which reads the config first)
    need no code of ours and ask for none."""
    stock = BertConfig.from_dict(_without(config.to_dict(), "model_type", "auto_map"))
    stock.architectures = config.architectures
    return stock


def _without(config: dict, *keys: str) -> dict:
    """A config's fields less ``keys`` (the model type is the class's, not a field to copy)."""
    return {k: v for k, v in config.items() if k not in keys}


def write_tokenizer(base_path: Path, out: Path, max_length: int) -> None:
    """The base tokenizer with the engine's text preparation added to its normaliser; its
    ``model_max_length`` is the model's token cap, so ``truncation=True`` cuts where the engine does."""
    tokenizer = json.loads((base_path / "tokenizer.json").read_text())
    own = tokenizer.get("normalizer")
    steps = ([own] if own else []) + [
        {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
        {"type": "Strip", "strip_left": True, "strip_right": True},
        {"type": "Prepend", "prepend": QUERY_PREFIX},
    ]
    tokenizer["normalizer"] = {"type": "Sequence", "normalizers": steps}
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False))
    config = json.loads((base_path / "tokenizer_config.json").read_text())
    config["model_max_length"] = max_length
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def export(model: str | Path, out: Path, fmt: str, int8: bool = False) -> list[Path]:
    """Write ``fmt`` ("hf" or "onnx") into ``out``; returns the files written."""
    from classifier.base import resolve_base

    scorer = Scorer.load(model, engine="fp32")
    hf_model = merged_model(scorer)
    out.mkdir(parents=True, exist_ok=True)
    write_tokenizer(resolve_base(scorer.manifest.base.name).path, out, scorer.manifest.max_length)
    if fmt == "hf":
        hf_model.save_pretrained(out)
        shutil.copy(Path(__file__).with_name("hf_model.py"), out / MODELING_FILE)
    else:
        _export_onnx(hf_model, out / "model.onnx")
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(
                out / "model.onnx", out / "model.int8.onnx", per_channel=True, weight_type=QuantType.QInt8
            )
        graph_config(hf_model.config).save_pretrained(out)
    return sorted(p for p in out.iterdir() if p.is_file())


class _LogitsOnly(torch.nn.Module):
    def __init__(self, model: MeanPooledBertForSequenceClassification) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def _export_onnx(model: MeanPooledBertForSequenceClassification, path: Path) -> None:
    example = torch.tensor([[0, 10, 20, 2], [0, 30, 2, 1]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        _LogitsOnly(model),
        example,
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
