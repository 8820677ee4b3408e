"""Which language a headline is in, offline: ``py3langid`` (its model ships inside the package)."""

from __future__ import annotations

from collections.abc import Sequence

UNDETERMINED = "und"


def detect_languages(texts: Sequence[str]) -> list[str]:
    """An ISO 639-1 code per text (``und`` for one with no letters to go on)."""
    import py3langid  # loads its model on first use

    return [py3langid.classify(t)[0] if any(c.isalpha() for c in t) else UNDETERMINED for t in texts]
