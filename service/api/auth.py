"""Bearer keys: which configured key a request presents, and a rate limit per key. The dependencies
that apply them to routes (``require_admin``, ``require_reader``) are in ``deps.py``."""

from __future__ import annotations

import hmac
import threading
import time

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


MAX_BUCKETS = 100_000  # names (keys, or clients that presented wrong keys) remembered at once


class KeyRateLimiter:
    """A token bucket per key name: ``per_minute`` requests a minute, bursts up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, when)
        self._lock = threading.Lock()

    def wait_needed(self, name: str, take: bool = True) -> float:
        """0 when the request may go now (and takes a token, unless ``take`` is false: a look only);
        else seconds until it could."""
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
            self._buckets[name] = (tokens - 1 if take else tokens, now)
            if len(self._buckets) > MAX_BUCKETS:  # many clients: forget the oldest (dicts keep order)
                del self._buckets[next(iter(self._buckets))]
            return 0.0
