"""Headline text normalisation shared by training, scoring and caching."""

from __future__ import annotations

import unicodedata

QUERY_PREFIX = "query: "  # E5 was trained with this prefix on single-sentence inputs


def normalise_headline(text: str) -> str:
    """NFKC, whitespace runs collapsed, ends stripped: equal headlines get equal keys."""
    return " ".join(unicodedata.normalize("NFKC", text).split())
