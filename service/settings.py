"""Service settings: ``CLICKBAIT_*`` environment variables, overridable by ``clickbait serve`` flags."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from classifier.settings import ClassifierSettings

CommaList = Annotated[list[str], NoDecode]  # "a.com,b.org" in the environment


class ServiceSettings(ClassifierSettings):
    """Everything ``clickbait serve`` can be told; inference settings are inherited."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    model: str = Field(default="default", description="artifact directory or 'default'")
    max_batch: int = Field(default=128, ge=1, description="headlines coalesced into one model call")
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000, description="how long a batch waits to fill")
    queue_size: int = Field(default=4096, ge=1, description="headlines waiting for the model, at most")
    max_headlines: int = Field(default=256, ge=1, description="headlines per request, at most")
    max_chars: int = Field(default=1000, ge=1, description="characters per headline, at most")
    max_body_bytes: int = Field(default=2_000_000, ge=1024)
    cache_size: int = Field(default=100_000, ge=0, description="0 turns the score cache off")
    explain_max_headlines: int = Field(default=8, ge=1)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    # feeds and pages
    feed_fetch: bool = Field(default=False, description="allow GET /v1/filter?url= to fetch feeds")
    feed_allowed_hosts: CommaList = Field(default=[], description="hosts the proxy may fetch; * = any public")
    feed_max_bytes: int = Field(default=10_000_000, ge=1024)
    feed_max_items: int = Field(default=10_000, ge=1)
    feed_timeout_s: float = Field(default=10.0, gt=0, le=120)
    feed_allow_sites: CommaList = Field(default=[], description="sites never marked clickbait")
    feed_block_sites: CommaList = Field(default=[], description="sites always marked clickbait")
    page_max_bytes: int = Field(default=5_000_000, ge=1024)
    miniflux_webhook_secret: SecretStr | None = None
    miniflux_url: str | None = None
    miniflux_token: SecretStr | None = None

    @field_validator("feed_allowed_hosts", "feed_allow_sites", "feed_block_sites", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
