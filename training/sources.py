"""The licence and origin of every public data set the project trains or measures on, in one place:
the model card and the manifest read them from here (``data_licence``)."""

from __future__ import annotations

from training.genre import GENRE_SETS

DATA_LICENCES: dict[str, str] = {
    "en-chakraborty2016": "MIT — Chakraborty et al. 2016, 'Stop Clickbait' (labels by publisher)",
    "es-ta1c-train": "MIT — TA1C (gmordecki/TA1C), annotated tweet teasers",
    "es-ta1c-validation": "MIT — TA1C (gmordecki/TA1C), annotated tweet teasers",
    "id-click-id": "CC BY 4.0 — CLICK-ID (William & Sari, 2020)",
    "tr-clickbaittr": "CC BY-SA 4.0 — clickbaittr/turkish-clickbait-dataset (labels by source account)",
    "ro-mixed": "no licence stated — dianam55/clickbait-detector-en-ro-hu (noisy mix)",
}

# genre sets, under the file names docs/teasers.md builds them as
GENRE_FILES = {
    "en-uci-genre": "uci-news-aggregator",
    "en-uci-genre-heldout": "uci-news-aggregator",
    "id-detik-genre": "detik-5kategori",
    "ro-catweb-genre": "ro-catweb",
    "ro-news-outlets": "ro-news-outlets",
    "id-clickid-genre": "clickid-sections",
    "id-clickid-genre-heldout": "clickid-sections",
    "es-fakenews-genre": "fakenews-es-topics",
    "es-fakenews-genre-heldout": "fakenews-es-topics",
    "tr-clickbaittr-genre": "clickbaittr-news-outlets",
    "tr-clickbaittr-genre-heldout": "clickbaittr-news-outlets",
}


def data_licence(file_name: str) -> str | None:
    """``file_name``'s licence and origin (by its name without extension), or None if unknown."""
    stem = file_name.split(".")[0]
    if stem in GENRE_FILES:
        genre = GENRE_SETS[GENRE_FILES[stem]]
        return f"{genre.licence} — {genre.repository} @ {genre.commit[:12]}"
    return DATA_LICENCES.get(stem)
