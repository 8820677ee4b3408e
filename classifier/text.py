"""Headline text normalisation shared by training, scoring and caching."""

from __future__ import annotations

import hashlib
import unicodedata

QUERY_PREFIX = "query: "  # E5 was trained with this prefix on single-sentence inputs


def normalise_headline(text: str) -> str:
    """NFKC, whitespace runs collapsed, ends stripped: equal headlines get equal keys."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def dedup_key(text: str) -> str:
    """Headlines equal up to normalisation and case are one headline (for de-duplication and labels)."""
    return normalise_headline(text).casefold()


def headline_key(text: str) -> str:
    """A fixed-size key of ``dedup_key``, for database indexes."""
    return hashlib.sha256(dedup_key(text).encode("utf-8")).hexdigest()
