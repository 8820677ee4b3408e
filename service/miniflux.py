"""Miniflux webhook: verify the signature, and mark clickbait entries read through Miniflux's API."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import httpx


def signature_ok(body: bytes, signature: str | None, secret: str) -> bool:
    """``X-Miniflux-Signature`` is the hex HMAC-SHA256 of the raw body; compared in constant time."""
    if not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


async def mark_read(base_url: str, token: str, entry_ids: Sequence[int], timeout_s: float = 10.0) -> None:
    """``PUT /v1/entries {"entry_ids": [...], "status": "read"}``; raises httpx errors upward."""
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        response = await client.put(
            f"{base_url.rstrip('/')}/v1/entries",
            json={"entry_ids": list(entry_ids), "status": "read"},
            headers={"X-Auth-Token": token},
        )
        response.raise_for_status()
