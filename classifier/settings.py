"""Inference settings, read from ``CLICKBAIT_*`` environment variables.

Each package declares its settings in one module (this one, ``service/settings.py`` and
``training/config.py``); command-line flags are generated from the same fields
(``classifier/flags.py``) and the reference from both (``docs/reference.md``), so a knob is one edit.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]  # "a.com,b.org" in the environment
BUNDLED_NAME = "bundled:multilingual-e5-small"  # the default base, converted by classifier/bundled.py
NO_FLAG = {"flag": False}  # json_schema_extra of a setting that gets no command-line flag


def split_commas(value: object) -> object:
    """Settings validator: a comma list from the environment becomes a list of its parts."""
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def _default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/clickbait, else ~/.cache/clickbait: per user, following XDG so that
    containers can point it at a volume."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "clickbait"


class ClassifierSettings(BaseSettings):
    """What the inference engine needs; the service extends these with its own."""

    model_config = SettingsConfigDict(env_prefix="CLICKBAIT_", extra="ignore")

    model: str = Field(
        default="default",
        description="artifact directory, or 'default': the model shipped in the package (serve: the "
        "first model of an empty registry)",
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="base models converted from the bundled 4-bit file, keyed by its hash",
    )
    threads: int = Field(
        default=0,
        ge=0,
        description="threads of the engine's matrix products (torch's, or numpy's BLAS); 0 = all cores",
    )
    batch_size: int = Field(
        default=32,
        ge=1,
        le=4096,
        description="headlines per forward pass, length-sorted; only attention computes their padding",
    )
    engine: Literal["auto", "onnx", "int8", "fp32", "numpy"] = Field(
        default="auto",
        description="auto = the fastest engine installed whose held-out check the artifact records "
        "(onnx, then int8), else fp32 (numpy without torch); onnx = int8 in ONNX Runtime, no torch; "
        "int8 = int8 in torch; numpy = fp32 without torch (classifier/backend.py)",
    )
    language: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z]{2,3}$",
        description="the language (ISO 639-1) of every headline, if all are in one: it replaces "
        "detection, whose tables, a sizeable share of a served process's memory, are then never "
        "loaded; a request's own lang wins",
    )
    teaser_kinds: CommaList = Field(
        default=["bait", "tabloid"],
        description="the kinds of teaser labelled clickbait (docs/teasers.md): 'bait' alone keeps "
        "celebrity and gossip news that does not mislead, 'tabloid' alone keeps misleading hard news; "
        "models without kind heads label every teaser",
    )

    @field_validator("teaser_kinds", mode="before")
    @classmethod
    def _split_kinds(cls, value: object) -> object:
        return split_commas(value)

    @field_validator("teaser_kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - {"bait", "tabloid"})
        if unknown or not value:
            raise ValueError(f"teaser_kinds takes bait, tabloid or both, not {unknown or 'nothing'}")
        return value


@lru_cache(maxsize=1)
def get_settings() -> ClassifierSettings:
    return ClassifierSettings()
