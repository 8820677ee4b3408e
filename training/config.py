"""Training recipe: one typed object, loadable from a TOML file and overridable from the CLI."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from classifier.base import DEFAULT_BASE


class TrainConfig(BaseModel):
    """Every knob of a training run; the whole object is stored in the artifact's manifest."""

    model_config = {"extra": "forbid"}

    data: list[Path] = Field(min_length=1)
    eval_data: list[Path] = []
    out: Path
    base: str = DEFAULT_BASE
    method: Literal["lora", "full"] = "lora"
    # optimisation
    epochs: float = Field(default=1.0, gt=0)
    samples_per_epoch: int | None = Field(default=None, ge=1, description="default: train rows")
    batch_size: int = Field(default=32, ge=1)
    max_length: int = Field(default=48, ge=8, le=512)
    lr: float = Field(default=5e-4, gt=0)
    head_lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.06, ge=0, lt=1)
    label_smoothing: float = Field(default=0.0, ge=0, lt=0.5)
    head_dropout: float = Field(default=0.1, ge=0, lt=1)
    # LoRA
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.0, ge=0, lt=1)
    lora_targets: list[str] = ["query", "key", "value", "dense"]
    # data handling
    lang_alpha: float = Field(default=0.5, ge=0, le=1)
    lang_weights: dict[str, float] = Field(default={}, description="extra sampling mass per language")
    holdout_fraction: float = Field(default=0.1, gt=0, lt=1)
    holdout_by: Literal["text", "source"] = "text"
    # early stopping
    eval_every: int = Field(default=200, ge=1, description="steps between validation checks")
    patience: int = Field(default=3, ge=1)
    max_eval_rows: int = Field(default=2000, ge=10)
    # run
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check_paths(self) -> TrainConfig:
        missing = [str(p) for p in [*self.data, *self.eval_data] if not Path(p).is_file()]
        if missing:
            raise ValueError(f"data files not found: {', '.join(missing)}")
        return self

    @classmethod
    def from_sources(cls, config_file: Path | None, overrides: dict[str, Any]) -> TrainConfig:
        """TOML values (paths relative to the file's directory), then non-None CLI overrides."""
        values: dict[str, Any] = {}
        if config_file is not None:
            values = tomllib.loads(config_file.read_text())
            root = config_file.parent
            for key in ("data", "eval_data"):
                values[key] = [str((root / p).resolve()) for p in values.get(key, [])]
            if "out" in values:
                values["out"] = str((root / values["out"]).resolve())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
