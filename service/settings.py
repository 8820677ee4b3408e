"""Service settings: ``CLICKBAIT_*`` environment variables, overridable by ``clickbait serve`` flags."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from classifier.settings import ClassifierSettings


class ServiceSettings(ClassifierSettings):
    """Everything ``clickbait serve`` can be told; inference settings are inherited."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    model: str = Field(default="default", description="artifact directory or 'default'")
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000, description="how long a batch waits to fill")
    queue_size: int = Field(default=4096, ge=1, description="headlines waiting for the model, at most")
    max_headlines: int = Field(default=256, ge=1, description="headlines per request, at most")
    max_chars: int = Field(default=1000, ge=1, description="characters per headline, at most")
    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    cache_size: int = Field(default=100_000, ge=0, description="0 turns the score cache off")
    explain_max_headlines: int = Field(default=8, ge=1)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
