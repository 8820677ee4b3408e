"""Which language a headline is in, offline: ``py3langid`` (its model ships inside the package),
restricted to the languages a headline here is likely to be in.

Unrestricted, py3langid names English validation headlines Nigerian Pidgin and Indonesian ones
Malay or Javanese, and misses the target on the five languages of the training data; restricted to
``LANGUAGES`` with Malay read as Indonesian it meets it and still names German, Hungarian or Telugu
as what they are (``docs/results/2026-11-29-languages.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

UNDETERMINED = "und"
# The five of the training data, their near neighbours (the confusions that matter: ms/id,
# pt/gl/ca/es, it/ro, az/tr) and the largest languages of news elsewhere. Left out on purpose:
# languages that take short headlines of the five but seldom carry news of their own (pcm, la, jv,
# bcl, an, ext: the unrestricted model's commonest misses).
LANGUAGES = (
    *("en", "es", "id", "ro", "tr", "ms", "pt", "gl", "ca", "it", "fr", "az", "de", "nl", "pl", "hu"),
    *("cs", "sk", "hr", "sr", "bg", "ru", "uk", "el", "ar", "he", "fa", "ur", "hi", "bn", "ta", "te"),
    *("ja", "ko", "zh", "vi", "th", "tl", "sw", "sv", "da", "no", "fi"),
)
# Malay and Indonesian share most of their headline vocabulary: read as one, Malay gets what is
# known of Indonesian.
SAME_AS = {"ms": "id"}


@cache
def _identifier():  # -> py3langid.langid.LanguageIdentifier; loads its model once
    """py3langid's identifier restricted to ``LANGUAGES``, built anew from the restricted tables:
    ``set_languages`` keeps the whole 142-language table beside them, a large share of what the
    identifier holds in a served process (``docs/results/2026-11-29-footprint.md``)."""
    from py3langid import langid

    full = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE)
    full.set_languages(list(LANGUAGES))
    return langid.LanguageIdentifier(
        full.nb_ptc, full.nb_pc, full.nb_classes, full.tk_nextmove, full.tk_output, tk_row=full.tk_row
    )


def identifier():  # -> py3langid.langid.LanguageIdentifier
    """The restricted identifier itself: its tables, for a port of it (the browser extension's,
    ``service/extension_model.py``)."""
    return _identifier()


@lru_cache(maxsize=8192)
def detect_language(text: str) -> str:
    """An ISO 639-1 code for ``text`` (``und`` for one with no letters to go on); remembered for the
    last 8,192 distinct texts, so that a headline scored and then described moments later is
    detected once; the cache only has to span that moment, so it is kept small
    (``docs/results/2026-11-29-footprint.md``)."""
    lang = _identifier().classify(text)[0] if any(c.isalpha() for c in text) else UNDETERMINED
    return language_code(lang)


def language_code(lang: str) -> str:
    """A caller's ISO 639-1 code as detection would name it (lower case, Malay as Indonesian)."""
    lang = lang.strip().lower()
    return SAME_AS.get(lang, lang)


def detect_languages(texts: Sequence[str]) -> list[str]:
    """An ISO 639-1 code per text (``und`` for one with no letters to go on)."""
    return [detect_language(text) for text in texts]


def headline_languages(
    headlines: Sequence[str], given: Sequence[str | None] | None = None, default: str | None = None
) -> list[str]:
    """The language of each headline, the one rule every part of the project reads a headline's
    language by: the caller's where ``given`` names one (``None`` or empty: not given), else
    ``default`` (the settings' ``language``, ``CLICKBAIT_LANGUAGE``), else detected once per
    distinct text; every code as detection names it (``language_code``), so that a file's "RO" and
    a request's "ro" fit the same correction."""
    wanted = [lang or default for lang in (given or [None] * len(headlines))]
    if len(wanted) != len(headlines):
        raise ValueError(f"{len(wanted)} languages for {len(headlines)} headlines")
    todo = list(dict.fromkeys(h for h, lang in zip(headlines, wanted, strict=True) if not lang))
    found = dict(zip(todo, detect_languages(todo), strict=True))
    return [language_code(lang) if lang else found[h] for h, lang in zip(headlines, wanted, strict=True)]
