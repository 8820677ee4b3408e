"""Service settings: ``CLICKBAIT_*`` environment variables, each also a ``clickbait serve`` flag
(generated from these fields, ``classifier/flags.py``) unless it is a secret."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from classifier.settings import NO_FLAG, ClassifierSettings, CommaList, split_commas
from training.config import RetrainSettings


def _default_data_dir() -> Path:
    """$XDG_DATA_HOME/clickbait, else ~/.local/share/clickbait: per user, following XDG so that
    containers can mount a volume."""
    root = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(root) / "clickbait"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine's loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def key_fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class MinifluxUser(BaseModel):
    """One Miniflux user: the API key the service acts with, and the secret its webhooks are signed
    with. ``name`` is None for the single pair (``miniflux_token``, ``miniflux_webhook_secret``)."""

    name: str | None = None
    token: SecretStr | None = None
    secret: SecretStr | None = None


class ServiceSettings(ClassifierSettings):
    """Everything ``clickbait serve`` can be told; inference settings are inherited."""

    # a refused value may be a secret (a Miniflux user's, an admin key): errors name the setting only
    model_config = SettingsConfigDict(hide_input_in_errors=True)  # merged with the inherited

    host: str = Field(default="127.0.0.1", description="address to listen on (0.0.0.0: every interface)")
    port: int = Field(default=8000, ge=0, le=65535, description="port to listen on")
    max_batch: int = Field(
        default=32,
        ge=1,
        description="headlines coalesced into one model call (a small request waits for one)",
    )
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000, description="how long a batch waits to fill")
    queue_size: int = Field(
        default=4096, ge=1, description="headlines waiting for the model, at most (429 above)"
    )
    max_headlines: int = Field(default=256, ge=1, description="headlines per request, at most (413 above)")
    max_chars: int = Field(default=1000, ge=1, description="characters per headline, at most (422 above)")
    max_body_bytes: int = Field(
        default=2_000_000, ge=1024, description="JSON request body, at most (413 above)"
    )
    cache_size: int = Field(default=100_000, ge=0, description="0 turns the score cache off")
    explain_max_headlines: int = Field(default=8, ge=1, description="headlines per request with explain")
    explain_max_inputs: int = Field(
        default=200,
        ge=1,
        description="model inputs one explain request may cost: one per word the model reads, plus "
        "one per headline (413 above)",
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="level of every logger, uvicorn's included"
    )
    malloc_arenas: int = Field(
        default=2, ge=0, le=1024, description="glibc heaps for `serve` (0 = glibc's default, 8 per core)"
    )
    malloc_mmap_kb: int = Field(
        default=256,
        ge=0,
        description="`serve`'s blocks of at least this many kB get their own memory map, returned when freed "
        "(0 = glibc's default, a threshold that rises as blocks are freed)",
    )
    # feeds and pages
    feed_fetch: bool = Field(default=False, description="allow GET /v1/filter?url= to fetch feeds")
    feed_allowed_hosts: CommaList = Field(default=[], description="hosts the proxy may fetch; * = any public")
    feed_max_bytes: int = Field(
        default=10_000_000, ge=1024, description="feed body, posted or fetched, at most"
    )
    feed_max_items: int = Field(default=10_000, ge=1, description="items per feed, at most")
    feed_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="seconds a fetched feed (or Miniflux) may take to answer"
    )
    feed_allow_sites: CommaList = Field(default=[], description="sites never marked clickbait")
    feed_block_sites: CommaList = Field(default=[], description="sites always marked clickbait")
    rules_file: Path | None = Field(
        default=None,
        description="keep/drop rules on titles, URL paths and authors, applied before the model in "
        "every feed path; read again when the file changes (docs/feeds.md, 'Rules')",
    )
    feed_drop_unvalidated: bool = Field(
        default=False,
        description=(
            "mode=drop also drops clickbait in a language the model's calibration was not validated on "
            "(off: such items are kept, annotated)"
        ),
    )
    feed_cache_s: float = Field(
        default=86_400,
        ge=0,
        description="seconds the feed proxy keeps a fetched feed to ask its upstream whether it changed "
        "(If-None-Match / If-Modified-Since); 0 = keep none",
    )
    feed_cache_entries: int = Field(default=1000, ge=1, description="feeds the proxy keeps, at most")
    feed_cache_bytes: int = Field(
        default=100_000_000, ge=0, description="bytes of feeds the proxy keeps, at most"
    )
    page_max_bytes: int = Field(default=5_000_000, ge=1024, description="HTML page body, at most")
    miniflux_webhook_secret: SecretStr | None = Field(
        default=None, description="Miniflux's webhook secret; without it the webhook route answers 404"
    )
    miniflux_url: str | None = Field(
        default=None, description="Miniflux's address, to mark clickbait entries read (with the token)"
    )
    miniflux_token: SecretStr | None = Field(default=None, description="a Miniflux API key")
    miniflux_users: Annotated[list[MinifluxUser], NoDecode] = Field(
        default=[],
        description="several Miniflux users, name:token:secret each (its API key and its webhook "
        "secret), comma-separated; beside the single token and secret above (docs/clients.md)",
        json_schema_extra=NO_FLAG,  # secrets: a command line shows in the process list
    )
    miniflux_action: Literal["mark_read", "prefix_title"] = Field(
        default="mark_read",
        description="what the webhook and `clickbait miniflux sweep` do to clickbait entries: mark them "
        "read, or prefix their titles ([clickbait 0.93] …) and leave them unread",
    )
    miniflux_label_starred: Literal["off", "clickbait", "news"] = Field(
        default="off",
        description="`clickbait miniflux sweep` reads each user's starred entries as labels of this kind "
        "(their personal layer learns from them: docs/personal.md)",
    )
    miniflux_label_category: int | None = Field(
        default=None,
        description="`clickbait miniflux sweep` reads the entries of this category (its id) as "
        "clickbait labels: move a feed there to say its headlines are bait to you",
    )
    # labels, retraining, registry
    data_dir: Path = Field(default_factory=_default_data_dir, description="labels database and registry")
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the label store (postgresql+psycopg://…); default: SQLite file "
        "labels.db in data_dir",
    )
    registry_dir: Path | None = Field(default=None, description="default: data_dir/registry")
    registry_poll_s: float = Field(
        default=2.0, gt=0, le=300, description="how often replicas look for a promotion"
    )
    admin_keys: CommaList = Field(
        default=[],
        description="keys for write routes, name:secret or secret, comma-separated; kept only as "
        "SHA-256 hashes",
        json_schema_extra=NO_FLAG,  # a secret: a command line shows in the process list
    )
    require_key_for_read: bool | None = Field(
        default=None,
        description="label, job and model reads need a key too; default: yes unless the service "
        "listens on a loopback address only (where the Host check keeps other sites' pages out)",
    )
    key_rate_per_minute: int = Field(
        default=600, ge=0, description="requests a minute per admin key; 0 = no limit"
    )
    allowed_hosts: CommaList = Field(
        default=[],
        description="Host header names answered (* = any); default: loopback names for a service on "
        "a loopback address, any for one on another interface: docs/security.md",
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="seconds a new connection may take to send its headers"
    )
    body_timeout_s: float = Field(
        default=30.0, gt=0, le=3600, description="seconds a request's whole body may take to arrive"
    )
    limit_concurrency: int = Field(
        default=256, ge=1, description="connections served at once; more get 503 at once"
    )
    wrong_keys_per_minute: int = Field(
        default=10, ge=1, description="wrong keys one client may present a minute before 429"
    )
    cors_origins: CommaList = Field(
        default=[], description="origins allowed to call from browsers; none = CORS off"
    )
    job_stale_s: float = Field(
        default=120, gt=0, description="a job silent this long (it beats every 10 s) died"
    )
    suggestion_pool: int = Field(default=10_000, ge=0, description="recent scores kept for label suggestions")
    # personal layers (docs/personal.md)
    personal_layers: bool = Field(
        default=True,
        description="each reader (a key, or a key's profile) gets a layer learnt from their own labels "
        "on top of the shared model, applied to the answers they ask for with their key",
    )
    personal_max_labels: int = Field(
        default=500, ge=1, le=5000, description="a reader's newest labels a personal layer learns from"
    )
    personal_penalty: float = Field(
        default=0.3,
        gt=0,
        description="how strongly a personal layer's weights are held at zero (larger: nearer the "
        "shared model)",
    )
    personal_bias_penalty: float = Field(
        default=10.0, gt=0, description="the same for its shift of the threshold"
    )
    personal_words: float = Field(
        default=4.0,
        ge=0,
        description="weight of a headline's words beside its vector in a personal layer (0: left out)",
    )
    personal_marks: float = Field(
        default=3.0,
        ge=0,
        description="weight of each mark of a headline's form (quotes, a question, digits…) in a "
        "personal layer (0: left out)",
    )
    personal_nearest: int = Field(
        default=3, ge=0, le=20, description="labelled headlines an answer the layer changed names as why"
    )
    retrain: RetrainSettings = Field(
        default_factory=RetrainSettings,
        description="CLICKBAIT_RETRAIN_*: how retraining jobs train and judge",
    )

    @field_validator(
        "feed_allowed_hosts", "feed_allow_sites", "feed_block_sites", "cors_origins", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        return split_commas(value)

    @field_validator("miniflux_users", mode="before")
    @classmethod
    def _miniflux_users(cls, value: object) -> object:
        """``name:token:secret`` entries become users; an entry's text is never echoed (secrets)."""
        entries = split_commas(value)
        if not isinstance(entries, list):
            return entries
        users = []
        for number, listed in enumerate(entries, 1):
            if not isinstance(listed, str):
                users.append(listed)
                continue
            name, token, secret = [*listed.split(":", 2), "", ""][:3]
            if not (name and token and secret):
                raise ValueError(f"Miniflux user entry {number} is not name:token:secret")
            users.append(MinifluxUser(name=name, token=token, secret=secret))
        return users

    @model_validator(mode="after")
    def _users_told_apart(self) -> ServiceSettings:
        """A webhook is known to be a user's by the secret that signed it: no two users share one."""
        names = [user.name for user in self.miniflux_users]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"Miniflux user {', '.join(map(str, twice))} is listed twice")
        secrets = [u.secret.get_secret_value() for u in self.miniflux_accounts if u.secret]
        if len(set(secrets)) < len(secrets):
            raise ValueError("two Miniflux users share a webhook secret: a webhook could not name its user")
        return self

    @field_validator("admin_keys", mode="before")
    @classmethod
    def _hash_keys(cls, value: object) -> object:
        """``name:secret`` or ``secret`` entries become ``name:sha256``; the plain key is not kept."""
        hashed = []
        for entry in split_commas(value) or []:
            name, _, secret = entry.partition(":") if ":" in entry else ("", "", entry)
            if not secret:
                raise ValueError(f"admin key {name!r} has no secret after the colon")
            digest = key_fingerprint(secret)
            hashed.append(f"{name or 'key-' + digest[:8]}:{digest}")
        return hashed

    @property
    def miniflux_accounts(self) -> list[MinifluxUser]:
        """Every Miniflux user: the single pair first, when either half is set, then the listed ones."""
        single = MinifluxUser(token=self.miniflux_token, secret=self.miniflux_webhook_secret)
        return ([single] if single.token or single.secret else []) + self.miniflux_users

    @property
    def reads_need_key(self) -> bool:
        """``require_key_for_read``, or its default: open reads on a loopback service only."""
        if self.require_key_for_read is not None:
            return self.require_key_for_read
        return not is_loopback(self.host)

    @property
    def database(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'labels.db'}"

    @property
    def registry_path(self) -> Path:
        return self.registry_dir or self.data_dir / "registry"
