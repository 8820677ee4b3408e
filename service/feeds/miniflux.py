"""Miniflux: the webhook's signature and the user who signed it, and the API calls that act on
clickbait entries for the webhook and for ``clickbait miniflux sweep`` (list unread entries, mark
them read, or prefix their titles)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import httpx

from classifier.errors import ClickbaitError, ErrorType
from service.feeds.decisions import Verdicts
from service.feeds.formats import Decision, FeedItem
from service.runtime.personal import reader_name
from service.settings import MinifluxUser

Action = Literal["mark_read", "prefix_title"]
PAGE_SIZE = 250  # entries per listing request (Miniflux allows up to 1,000)
# The prefix is this service's mark, not the model's label: a sweep under any later model must
# recognise the titles an earlier one named.
PREFIXED = re.compile(r"^\[clickbait( \d\.\d\d)?\] ")
MINIFLUX_AUTHOR = "miniflux"  # who stored the labels a user gave in Miniflux


def miniflux_reader(user: MinifluxUser) -> str:
    """The reader whose personal layer a Miniflux user's labels teach, and whose answers it changes
    (the sweep's, the webhook's): ``miniflux/NAME`` (``miniflux/default`` for the single pair)."""
    return reader_name(MINIFLUX_AUTHOR, user.name or "default")


def signature_ok(body: bytes, signature: str | None, secret: str) -> bool:
    """``X-Miniflux-Signature`` is the hex HMAC-SHA256 of the raw body; compared in constant time."""
    if not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # bytes: compare_digest refuses a str with characters outside ASCII (a header can carry them)
    return hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "replace"))


def signed_by(body: bytes, signature: str, users: Sequence[MinifluxUser]) -> MinifluxUser | None:
    """The user whose webhook secret signed ``body``, if any: each user's secret is tried (the settings
    refuse two users with one secret, so at most one matches)."""
    return next(
        (u for u in users if u.secret and signature_ok(body, signature, u.secret.get_secret_value())), None
    )


@dataclass(frozen=True)
class Flagged:
    """An entry judged clickbait: its score, or the rule that decided without one, and what decided
    (``Decision.decided_by``)."""

    id: int
    title: str
    score: float | None
    rule: str | None
    decided_by: str

    def prefixed_title(self) -> str:
        """``[clickbait 0.93] title`` (``[clickbait] title`` when a rule decided)."""
        mark = "clickbait" if self.score is None else f"clickbait {self.score:.2f}"
        return f"[{mark}] {self.title}"


def entry_items(entries: Sequence[dict]) -> list[FeedItem]:
    """Entries as feed items, so rules and scores decide them as they decide a feed's items."""
    return [FeedItem(_text(e.get("title")), _text(e.get("url")), e, _text(e.get("author"))) for e in entries]


def flagged(
    entries: Sequence[dict], verdicts: Verdicts, action: Action
) -> tuple[list[Flagged], list[Flagged]]:
    """(the entries ``action`` applies to, the clickbait the policy holds back from it). Marking an
    entry read takes it away as dropping takes a feed's item, so it holds back what a feed keeps
    (``Verdicts.held``); a prefixed title is an annotation, given to every clickbait entry."""
    bait = verdicts.clickbait_items()
    acted = verdicts.removed("drop") if action == "mark_read" else bait
    held = verdicts.held() if action == "mark_read" else [False] * len(bait)
    pairs = list(zip(entries, verdicts.decisions, strict=True))
    return _flags(pairs, acted), _flags(pairs, held)


def _flags(pairs: Sequence[tuple[dict, Decision]], chosen: Sequence[bool]) -> list[Flagged]:
    return [
        Flagged(
            e["id"], e.get("title") or "", None if d.score is None else float(d.score), d.rule, d.decided_by
        )
        for (e, d), keep in zip(pairs, chosen, strict=True)
        if keep
    ]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Miniflux:
    """One user's Miniflux API (``X-Auth-Token``); every failure is an ``upstream_error``."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 10.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers={"X-Auth-Token": token}, timeout=timeout_s
        )

    async def __aenter__(self) -> Miniflux:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self._client.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ClickbaitError(
                f"Miniflux did not accept {method} {path}: {exc}", ErrorType.upstream_error
            ) from exc
        return response

    async def unread(
        self, feed_id: int | None = None, category_id: int | None = None
    ) -> AsyncIterator[tuple[list[dict], int]]:
        """Pages of unread entries (optionally of one feed or category), with the count still unread
        when each page was read. Paged by id (``after_entry_id``), not offset, so entries marked read
        between pages do not shift the pages under the sweep."""
        selection = {"status": "unread"}
        selection |= {"feed_id": feed_id} if feed_id is not None else {}
        selection |= {"category_id": category_id} if category_id is not None else {}
        async for page in self.entries(selection):
            yield page

    async def entries(self, selection: dict[str, str | int]) -> AsyncIterator[tuple[list[dict], int]]:
        """Pages of the entries ``selection`` picks (Miniflux's query: ``status``, ``starred``,
        ``feed_id``, ``category_id``), oldest first, each with the count left when it was read."""
        after = 0
        while True:
            params = {**selection, "order": "id", "direction": "asc", "limit": PAGE_SIZE}
            params |= {"after_entry_id": after} if after else {}
            listing = (await self._send("GET", "/v1/entries", params=params)).json()
            entries = [e for e in listing.get("entries") or [] if isinstance(e.get("id"), int)]
            if not entries:
                return
            yield entries, int(listing.get("total") or 0)
            after = max(e["id"] for e in entries)

    async def act(self, action: Action, flagged: Sequence[Flagged]) -> None:
        """Mark ``flagged`` read (one request), or prefix each title (one request per entry)."""
        if not flagged:
            return
        if action == "mark_read":
            body = {"entry_ids": [f.id for f in flagged], "status": "read"}
            await self._send("PUT", "/v1/entries", json=body)
            return
        for entry in flagged:
            await self._send("PUT", f"/v1/entries/{entry.id}", json={"title": entry.prefixed_title()})
