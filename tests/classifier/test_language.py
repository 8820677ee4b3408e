"""Language identification: the restricted set, Malay read as Indonesian, no letters no guess."""

from __future__ import annotations

from classifier.language import LANGUAGES, UNDETERMINED, detect_languages


def test_headlines_get_their_language_and_malay_reads_as_indonesian() -> None:
    found = detect_languages(
        [
            "The mayor opens the new bridge over the river",
            "Primarul a inaugurat podul nou peste râu",
            "Presiden meresmikan jembatan baru di Jakarta",
            "Kerajaan akan membentangkan bajet baharu minggu hadapan",  # Malay
            "Der Bürgermeister eröffnet die neue Brücke",  # outside the training data: still named
            "2024 — 3:1",
        ]
    )
    assert found == ["en", "ro", "id", "id", "de", UNDETERMINED]


def test_the_restricted_set_keeps_the_five_and_their_neighbours() -> None:
    assert {"en", "es", "id", "ro", "tr", "ms", "pt", "it", "de", "hu", "te"} <= set(LANGUAGES)
    assert not {"pcm", "jv", "la"} & set(LANGUAGES)  # short headlines of the five went there
