"""The feed proxy's conditional GETs, both ways (docs/feeds.md).

Upstream: the proxy keeps each feed it fetched (body and validators) for ``feed_cache_s`` seconds,
within ``feed_cache_entries`` feeds and ``feed_cache_bytes`` bytes, the least recently used going
first, and asks again with ``If-None-Match`` / ``If-Modified-Since``; the upstream's 304 means the
kept body still holds.

Readers: an answer's ETag is built from everything that decides its bytes (the upstream body's
digest, the model's version, the mode, the filter's policy and the scoring settings), so it changes
whenever the filtered output would; its Last-Modified is when the proxy first gave that answer for
that body. A reader whose ``If-None-Match`` (or, without one, ``If-Modified-Since``) matches gets a
304, and nothing is scored.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime

from classifier.settings import ClassifierSettings
from service.feeds.decisions import Policy
from service.feeds.fetch import Fetched, FetchError, Validators
from service.feeds.formats import Mode
from service.settings import ServiceSettings

MAX_ANSWERS = 16  # answers remembered per feed body: one per mode and filter parameters in use


@dataclass
class CachedFeed:
    """An upstream feed as last fetched, and when this proxy first answered each of its ETags."""

    body: bytes
    content_type: str | None
    validators: Validators
    digest: str
    stored: float  # when the body arrived: the cache keeps it feed_cache_s from then
    answered: dict[str, int] = field(default_factory=dict)  # the proxy's ETag → its Last-Modified
    floor: int = 0  # the latest Last-Modified given for the body this one replaced

    def last_modified(self, tag: str) -> int:
        """When ``tag`` was first answered for this body (now, for a new one). A new tag's time is
        later than every earlier one's, so a reader's If-Modified-Since from an earlier answer in the
        same second does not match it."""
        if tag not in self.answered:
            latest = max(self.answered.values(), default=self.floor)
            self.answered[tag] = max(int(time.time()), latest + 1)
            if len(self.answered) > MAX_ANSWERS:
                del self.answered[next(iter(self.answered))]
        return self.answered[tag]

    def headers(self, tag: str) -> dict[str, str]:
        """The validators of the proxy's answer named ``tag``."""
        return {"ETag": tag, "Last-Modified": formatdate(self.last_modified(tag), usegmt=True)}


class FeedCache:
    """Fetched feeds by URL, bounded in age, count and bytes; one per app (its settings bound it)."""

    def __init__(self, ttl_s: float, max_entries: int, max_bytes: int) -> None:
        self.ttl_s, self.max_entries, self.max_bytes = ttl_s, max_entries, max_bytes
        self._feeds: OrderedDict[str, CachedFeed] = OrderedDict()
        self._bytes = 0

    @classmethod
    def of(cls, settings: ServiceSettings) -> FeedCache:
        return cls(settings.feed_cache_s, settings.feed_cache_entries, settings.feed_cache_bytes)

    def get(self, url: str) -> CachedFeed | None:
        """The feed kept for ``url``, unless it is older than the cache keeps feeds."""
        feed = self._feeds.get(url)
        if feed is not None and time.time() - feed.stored >= self.ttl_s:
            self._drop(url)
            return None
        if feed is not None:
            self._feeds.move_to_end(url)
        return feed

    def keep(self, url: str, fetched: Fetched, kept: CachedFeed | None) -> CachedFeed:
        """The feed ``fetched`` stands for: ``kept`` when the upstream said it is unchanged, else the
        new body, kept for the next poll. A body identical to the kept one keeps its answers' times."""
        if fetched.not_modified:
            if kept is None:
                raise FetchError(f"upstream answered 304 to an unconditional request for {url}")
            kept.validators = fetched.validators
            return kept
        digest = hashlib.sha256(fetched.body).hexdigest()
        same = kept is not None and kept.digest == digest
        feed = CachedFeed(fetched.body, fetched.content_type, fetched.validators, digest, time.time())
        if kept is not None:
            feed.answered = dict(kept.answered) if same else {}
            feed.floor = kept.floor if same else max(kept.answered.values(), default=kept.floor)
        self._put(url, feed)
        return feed

    def _put(self, url: str, feed: CachedFeed) -> None:
        self._drop(url)
        if self.ttl_s <= 0 or len(feed.body) > self.max_bytes:
            return
        self._feeds[url] = feed
        self._bytes += len(feed.body)
        while len(self._feeds) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._feeds)))

    def _drop(self, url: str) -> None:
        feed = self._feeds.pop(url, None)
        if feed is not None:
            self._bytes -= len(feed.body)


def entity_tag(digest: str, model: str, mode: Mode, policy: Policy, settings: ClassifierSettings) -> str:
    """The proxy's ETag for the body of ``digest`` filtered by ``model`` in ``mode`` under ``policy``
    and the scoring settings (which read a title: teaser kinds, languages…)."""
    scoring = settings.model_dump_json(include=set(ClassifierSettings.model_fields))
    named = "\n".join([digest, model, mode, policy.fingerprint(), scoring])
    return f'"{hashlib.sha256(named.encode()).hexdigest()[:40]}"'


def unchanged(headers: Mapping[str, str], tag: str, last_modified: int) -> bool:
    """Whether a reader's conditional GET is answered 304: its If-None-Match names ``tag`` (weakly
    compared, ``*`` for any) or, only when it sends none, its If-Modified-Since is not earlier than
    ``last_modified`` (RFC 9110, 13.2.2)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or tag in tags
    if_modified_since = headers.get("if-modified-since")
    if not if_modified_since:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):  # not a date: the condition is ignored, as RFC 9110 says
        return False
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    return last_modified <= since.timestamp()
