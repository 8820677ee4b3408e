"""Bearer-key access for the routes that change state (labels, retraining, promotion)."""

from __future__ import annotations

import hmac
import threading
import time

from fastapi import Request

from classifier.errors import ClickbaitError, ErrorType
from service.settings import ServiceSettings, key_fingerprint


def key_owner(settings: ServiceSettings, presented: str) -> str | None:
    """The name of the configured key that matches; every stored hash is compared, in constant time."""
    digest = key_fingerprint(presented)
    owner = None
    for entry in settings.admin_keys:
        name, _, stored = entry.rpartition(":")
        if hmac.compare_digest(stored, digest):
            owner = name
    return owner


class KeyRateLimiter:
    """A token bucket per key name: ``per_minute`` requests a minute, bursts up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when)
        self._lock = threading.Lock()

    def wait_needed(self, name: str) -> float:
        """0 when the request may go now (and takes a token); else seconds until it could."""
        if not self.per_minute:
            return 0.0
        rate = self.per_minute / 60
        with self._lock:
            tokens, when = self._buckets.get(name, (float(self.per_minute), time.monotonic()))
            now = time.monotonic()
            tokens = min(float(self.per_minute), tokens + (now - when) * rate)
            if tokens < 1:
                self._buckets[name] = (tokens, now)
                return (1 - tokens) / rate
            self._buckets[name] = (tokens - 1, now)
            return 0.0


def _authenticate(request: Request) -> str:
    settings: ServiceSettings = request.app.state.settings
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ClickbaitError("this route needs 'Authorization: Bearer <key>'", ErrorType.unauthorized)
    owner = key_owner(settings, presented.strip())
    if owner is None:
        reason = (
            "the key is not valid"
            if settings.admin_keys
            else "no admin keys are configured (CLICKBAIT_ADMIN_KEYS)"
        )
        raise ClickbaitError(reason, ErrorType.forbidden)
    wait = request.app.state.key_limiter.wait_needed(owner)
    if wait:
        raise ClickbaitError(
            f"key {owner!r} is over {settings.key_rate_per_minute} requests a minute",
            ErrorType.rate_limited,
            retry_after=wait,
        )
    return owner


async def require_admin(request: Request) -> str:
    """Dependency of write routes: returns who is writing (the key's name)."""
    return _authenticate(request)


async def require_reader(request: Request) -> str | None:
    """Dependency of label/job/model reads: open unless CLICKBAIT_REQUIRE_KEY_FOR_READ is set."""
    settings: ServiceSettings = request.app.state.settings
    return _authenticate(request) if settings.require_key_for_read else None
