"""The extension's words: every one it shows comes from _locales, each locale has every message of
the English one with the same placeholders, and the manifest and pages name only messages that exist.
Which text reaches the reader is checked in the browser (tests/service/test_extension.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "service" / "extension"
LOCALES = sorted(p.name for p in (EXTENSION / "_locales").iterdir())
MODES = re.search(r"const MODES = Object\.freeze\((\[[^\]]*\])\)", (EXTENSION / "settings.js").read_text())
PLACEHOLDER = re.compile(r"\$([A-Za-z_]+)\$")


def messages(locale: str) -> dict[str, dict]:
    return json.loads((EXTENSION / "_locales" / locale / "messages.json").read_text(encoding="utf-8"))


def names_used() -> set[str]:
    """Every message name the sources ask for; names built from a mode (`pageCount_${mode}`) for each mode."""
    modes = json.loads(MODES.group(1))
    used = set(re.findall(r"__MSG_(\w+)__", (EXTENSION / "manifest.json").read_text()))
    for script in EXTENSION.glob("*.js"):
        text = script.read_text()
        used |= set(re.findall(r"""\bt\(\s*["'](\w+)["']""", text))
        used |= {
            f"{prefix}{mode}" for prefix in re.findall(r"\bt\(\s*`(\w+)\$\{mode\}`", text) for mode in modes
        }
        for ternary in re.findall(r"\bt\(\s*[^()]*\?\s*\"(\w+)\"\s*:\s*\"(\w+)\"", text):
            used |= set(ternary)
    for page in EXTENSION.glob("*.html"):
        used |= set(re.findall(r'data-i18n(?:-\w+)?="(\w+)"', page.read_text()))
    return used


def test_the_product_speaks_romanian_and_english_at_least() -> None:
    assert {"en", "ro"} <= set(LOCALES)
    assert json.loads((EXTENSION / "manifest.json").read_text())["default_locale"] == "en"


@pytest.mark.parametrize("locale", LOCALES)
def test_each_locale_has_every_message_with_its_placeholders(locale: str) -> None:
    english, here = messages("en"), messages(locale)
    assert here.keys() == english.keys()
    for name, message in english.items():
        placeholders = {p.lower() for p in PLACEHOLDER.findall(message["message"])}
        assert placeholders == set(message.get("placeholders", {})), name
        assert {p.lower() for p in PLACEHOLDER.findall(here[name]["message"])} == placeholders, (locale, name)
        assert here[name]["message"].strip(), (locale, name)


def test_every_message_the_sources_name_exists_and_each_exists_for_a_reason() -> None:
    used, english = names_used(), messages("en")
    assert used - english.keys() == set()
    assert english.keys() - used == set()
