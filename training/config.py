"""Training recipe: one typed object, loadable from a TOML file and overridable from the CLI."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from classifier.settings import BUNDLED_NAME, CommaList, split_commas


class TrainConfig(BaseModel):
    """Every knob of a training run; the whole object is stored in the artifact's manifest."""

    model_config = {"extra": "forbid"}

    data: list[Path] = Field(
        default=[],
        description="labelled JSONL/CSV files: text, label (news|clickbait or 0/1)[, lang, source]; "
        "a retrain's come from the label store instead",
    )
    eval_data: list[Path] = Field(default=[], description="more labelled files scored after training")
    out: Path | None = Field(default=None, description="artifact directory to write (training needs one)")
    init_from: Path | None = Field(
        default=None,
        description=(
            "artifact to go on from: training (same base and method) "
            "or distillation (its first layers start the student)"
        ),
    )
    base: str = Field(
        default=BUNDLED_NAME,
        description="base encoder: bundled:multilingual-e5-small, a directory or a hub id",
    )
    method: Literal["lora", "full"] = Field(
        default="lora", description="LoRA adapters, or every encoder weight (word embeddings frozen)"
    )
    # optimisation
    epochs: float = Field(default=1.0, gt=0, description="passes over samples_per_epoch drawn rows")
    samples_per_epoch: int | None = Field(
        default=None, ge=1, description="rows drawn per epoch; default: train rows"
    )
    batch_size: int = Field(default=32, ge=1, description="rows per optimiser step (split across processes)")
    max_length: int = Field(default=48, ge=8, le=512, description="tokens per headline, at most")
    lr: float = Field(default=5e-4, gt=0, description="learning rate of the encoder (or its adapters)")
    head_lr: float = Field(default=1e-3, gt=0, description="learning rate of the linear head")
    weight_decay: float = Field(default=0.01, ge=0, description="AdamW weight decay")
    warmup_ratio: float = Field(
        default=0.06, ge=0, lt=1, description="share of steps with a rising learning rate"
    )
    label_smoothing: float = Field(
        default=0.0, ge=0, lt=0.5, description="targets pulled this far towards 0.5"
    )
    head_dropout: float = Field(default=0.1, ge=0, lt=1, description="dropout before the head")
    # LoRA
    lora_r: int = Field(default=16, ge=1, description="LoRA rank")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA scaling (alpha / r)")
    lora_dropout: float = Field(default=0.0, ge=0, lt=1, description="dropout on the LoRA path")
    lora_targets: list[str] = Field(
        default=["query", "key", "value", "dense"], description="names of the Linear layers that get adapters"
    )
    lora_layers: list[int] | None = Field(
        default=None,
        description="encoder layers (from 0) that get adapters; the rest keep the base's weights (None: all)",
    )
    # kinds of teaser (docs/teasers.md)
    kinds_data: list[Path] = Field(
        default=[],
        description="labelled files that fit only the kind heads (a genre set's tabloid and news rows)",
    )
    kinds_layer: int | None = Field(
        default=None,
        ge=0,
        description="the kind heads read the pooled vector after this many encoder layers (None: the last); "
        "below lora_layers it keeps the base's multilingual sense of genre",
    )
    kinds_normalised: bool = Field(
        default=False, description="the kind heads read that pooled vector scaled to unit length"
    )
    kinds_news_flagged: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="each kind head's operating point: the share of validation rows not of its kind "
        "it flags (None: the balanced regression's own)",
    )
    kinds_centred: bool = Field(
        default=False,
        description="the kind heads read that vector less its language's mean (of the clickbait sets' "
        "headlines in that language), so that a genre set's language does not become its genre",
    )
    kinds_in_score: list[str] = Field(
        default=[],
        description="kinds whose probability the teaser score rises to (a teaser is bait or tabloid)",
    )
    # data handling
    lang_alpha: float = Field(
        default=0.5, ge=0, le=1, description="languages get sampling mass ∝ rows^lang_alpha (0 = equal)"
    )
    lang_weights: dict[str, float] = Field(default={}, description="extra sampling mass per language")
    source_alpha: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="within a language's class, sources get sampling mass ∝ rows^source_alpha "
        "(1 = natural, 0 = equal; rows with no source are one source)",
    )
    file_shares: dict[str, float] = Field(
        default={}, description="share of the samples drawn from a data file (by name without extension)"
    )
    holdout_fraction: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description="share held out for validation (keep a teacher's when distilling)",
    )
    holdout_by: Literal["text", "source"] = Field(
        default="text", description="hold out by text hash, or whole sources (sites) by their hash"
    )
    # early stopping
    eval_every: int = Field(default=200, ge=1, description="steps between validation checks")
    patience: int = Field(default=3, ge=1, description="checks without a gain before stopping early")
    max_eval_rows: int = Field(default=2000, ge=10, description="validation rows the checks score, at most")
    stop_on: Literal["macro_f1", "neg_log_loss"] = Field(
        default="macro_f1",
        description="early-stopping signal on the validation rows (higher is better): macro-F1 at 0.5, "
        "or the negated log-loss, smoother on a few dozen rows",
    )
    # run
    seed: int = Field(default=0, description="seed of sampling, hold-out order and initialisation")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="auto: cuda when there is one")
    threads: int = Field(default=0, ge=0, description="torch threads; 0 = torch's default")
    checkpoints: bool = Field(
        default=True,
        description="write OUT.checkpoint.pt at every check, so that the same command run again goes "
        "on from it (training/checkpoint.py)",
    )

    @model_validator(mode="after")
    def _check_paths(self) -> TrainConfig:
        missing = [str(p) for p in [*self.data, *self.eval_data, *self.kinds_data] if not Path(p).is_file()]
        if missing:
            raise ValueError(f"data files not found: {', '.join(missing)}")
        if sum(self.file_shares.values()) > 1 or any(v <= 0 for v in self.file_shares.values()):
            raise ValueError("file_shares must be positive and add up to at most 1")
        return self

    @classmethod
    def from_sources(cls, config_file: Path | None, overrides: dict[str, Any]) -> TrainConfig:
        """TOML values (paths relative to the file's directory), then non-None CLI overrides."""
        values: dict[str, Any] = {}
        if config_file is not None:
            values = tomllib.loads(config_file.read_text())
            root = config_file.parent
            for key in ("data", "eval_data", "kinds_data"):
                values[key] = [str((root / p).resolve()) for p in values.get(key, [])]
            for key in ("out", "init_from"):
                if key in values:
                    values[key] = str((root / values[key]).resolve())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)


class RetrainSettings(BaseSettings):
    """How a retraining job trains and judges a candidate (``CLICKBAIT_RETRAIN_*``)."""

    model_config = SettingsConfigDict(env_prefix="CLICKBAIT_RETRAIN_", extra="ignore")

    replay_data: CommaList = Field(
        default=[], description="your own labelled files, replayed with their labels beside new labels"
    )
    eval_data: CommaList = Field(
        default=[], description="labelled files both models are judged on (at most `margin` lost)"
    )
    replay_rows: int = Field(
        default=4000, ge=0, description="rows sampled from the replay files (warm start)"
    )
    pool_size: int = Field(
        default=10_000,
        ge=0,
        description="distinct headlines the service has scored kept in the label store, replayed with "
        "the current model's scores by a retrain; 0 keeps none",
    )
    pool_replay_rows: int = Field(
        default=1000, ge=0, description="pooled headlines one retrain replays (and checks agreement on)"
    )
    passes: float = Field(
        default=16.0, gt=0, description="passes over the training labels one warm retrain makes, at most"
    )
    steps: int = Field(default=300, ge=1, description="optimiser steps of a warm retrain, at most")
    checks: int = Field(default=6, ge=1, description="early-stopping checks on the dev labels over a retrain")
    base_steps: int = Field(default=1875, ge=1, description="optimiser steps of a --from-base retrain")
    batch_size: int = Field(default=32, ge=1, description="rows per optimiser step")
    lr: float = Field(default=1e-4, gt=0, description="learning rate of a warm retrain")
    base_lr: float = Field(default=3e-4, gt=0, description="learning rate of a --from-base retrain")
    label_share: float = Field(
        default=0.5, gt=0, le=1, description="share of each batch drawn from stored labels"
    )
    holdout: float = Field(
        default=0.4,
        gt=0,
        lt=1,
        description="fixed share of stored labels never trained on: half for early stopping and the "
        "temperature, half for the gate",
    )
    min_labels: int = Field(default=20, ge=2, description="stored labels needed before a retrain starts")
    confidence: float = Field(
        default=0.9,
        ge=0.5,
        lt=1,
        description="confidence that the candidate fixes more held-out decisions than it breaks "
        "(one-sided exact McNemar test at 1 - confidence)",
    )
    bootstrap_rounds: int = Field(
        default=2000, ge=100, description="resamples of the paired bootstrap of the macro-F1 gain (reported)"
    )
    max_language_drop: float = Field(
        default=0.01, ge=0, le=1, description="macro-F1 any language of the check rows may lose"
    )
    min_agreement: float = Field(
        default=0.95,
        ge=0,
        le=1,
        description="share of the current decisions kept on pooled headlines of languages without "
        "check rows or labels",
    )
    min_agreement_rows: int = Field(
        default=50, ge=1, description="pooled headlines a language needs for the agreement check"
    )
    margin: float = Field(
        default=0.005, ge=0, le=1, description="macro-F1 the candidate may lose on `eval_data` files"
    )
    max_length: int = Field(default=48, ge=8, le=512, description="tokens per headline, at most")
    route_languages: bool = Field(
        default=True,
        description="a warm retrain's candidate scores only the languages with at least `min_labels` "
        "of the labels, and hands every other language to the current model, unchanged",
    )
    quantize: bool = Field(
        default=True,
        description="check the candidate's int8 form against fp32 on held-out rows, as `clickbait "
        "quantize` does, so that `auto` serves it with the fast engine where that keeps accuracy",
    )
    seed: int = Field(default=13, description="seed of the replay samples, the bootstrap and training")

    @field_validator("replay_data", "eval_data", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        return split_commas(value)
