"""The translation catalogs: complete, up to date with the sources, and compiled as committed.

The .mo files are committed (a fresh clone and the wheel need no build step), so these tests
are what keeps them honest: after editing a text, run the README's pybabel commands.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from scheduler.domain.languages import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LOCALES
from scheduler.i18n import locale_dir, translate

ROOT = Path(__file__).resolve().parents[2]
LOCALE = Path(locale_dir())
TRANSLATED = sorted(set(LANGUAGE_NAMES) - {DEFAULT_LANGUAGE})
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _po(language: str):
    with open(LOCALE / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=language)


def _ids(catalog) -> set:
    return {m.id for m in catalog if m.id}


@pytest.fixture(scope="module")
def extracted() -> set:
    """What `pybabel extract -F babel.cfg -k translate:2` finds in the sources now."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "translate": (2,)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _key(message_id) -> object:
    return message_id if isinstance(message_id, str) else tuple(message_id)


def test_the_template_lists_what_the_sources_say(extracted) -> None:
    with open(LOCALE / "messages.pot", "rb") as f:
        pot = read_po(f)
    assert {_key(i) for i in _ids(pot)} == extracted


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language, extracted) -> None:
    catalog = _po(language)
    assert {_key(i) for i in _ids(catalog)} == extracted
    for message in catalog:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else message.string
        assert all(strings), f"untranslated: {message.id!r}"
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        sources = [message.id] if isinstance(message.id, str) else list(message.id)
        allowed = {name for source in sources for name in PLACEHOLDER.findall(source)}
        for text in strings:
            # A translation may leave out a value (Spanish "queda 1" needs no count word) but
            # never names one the text does not have.
            assert set(PLACEHOLDER.findall(text)) <= allowed, text
        if isinstance(message.id, str):
            assert set(PLACEHOLDER.findall(strings[0])) == allowed, strings[0]


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_committed_mo_is_the_compiled_po(language) -> None:
    catalog = _po(language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    with open(LOCALE / language / "LC_MESSAGES" / "messages.mo", "rb") as f:
        committed = read_mo(f)
    fresh = read_mo(compiled)
    assert _table(committed) == _table(fresh)


def _table(catalog) -> dict:
    return {_key(m.id): _key(m.string) for m in catalog if m.id}


def test_every_language_has_a_locale_and_a_catalog() -> None:
    assert set(LOCALES) == set(LANGUAGE_NAMES)
    for language in TRANSLATED:
        assert (LOCALE / language / "LC_MESSAGES" / "messages.mo").is_file()
    assert translate("es", "Reply STOP to opt out.") == "Responda ALTO para darse de baja."
    assert translate("en", "Reply STOP to opt out.") == "Reply STOP to opt out."


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="'en' or 'es'"):
        translate("fr", "Reply STOP to opt out.")
