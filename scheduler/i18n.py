"""Translations of everything a client reads: gettext catalogs under scheduler/locale, via Babel.

English is the source language: the texts in templates/sms, the client link pages and the
prompt library are written in English, extracted with `pybabel extract` (babel.cfg) and
translated in scheduler/locale/<language>/LC_MESSAGES/messages.po. The compiled .mo files are
committed beside them, so a fresh clone and the wheel work without a build step; a test
checks that each .mo says exactly what its .po says (README, "Languages").

Front-desk pages stay in English: only what a client reads is translated.
"""

from __future__ import annotations

import gettext as _gettext
import json
from collections.abc import Iterator
from functools import cache
from typing import IO

from babel.support import NullTranslations, Translations

from .domain.languages import DEFAULT_LANGUAGE, LOCALES, check_language
from .package_data import find

DOMAIN = "messages"


def locale_dir() -> str:
    """The catalog folder (scheduler/locale), in a checkout and an install alike."""
    return str(find("locale"))


def locale_for(language: str | None) -> str:
    """The Babel locale a language's dates and times are written in ("es" -> "es")."""
    return LOCALES[language or DEFAULT_LANGUAGE]


@cache
def translations(language: str | None) -> _gettext.NullTranslations:
    """The catalog of `language`; English (the source language) needs none."""
    code = check_language(language or DEFAULT_LANGUAGE)
    if code == DEFAULT_LANGUAGE:
        return NullTranslations()
    found = Translations.load(locale_dir(), [code], DOMAIN)
    if not isinstance(found, Translations):
        # Babel quietly falls back to no translation; a client would get English unnoticed.
        raise FileNotFoundError(f"no compiled catalog for {code!r} in {locale_dir()}")
    return found


def translate(language: str | None, message: str) -> str:
    """`message` (English) in `language`; untranslated ones stay English.

    `pybabel extract -k translate:2` finds these calls (README, "Languages")."""
    return translations(language).gettext(message)


def extract_measures(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extractor for the questionnaires' published wording (domain/measures.py): stems,
    items and answer labels. Their translations must be the instruments' published ones."""
    from .domain import measures

    note = ["questionnaire wording: use the instrument's published translation"]
    for spec in measures.SPECS.values():
        for text in (spec.stem, *spec.items):
            yield 0, None, text, [*note, spec.name]
    for text in (*measures.FREQUENCY_OPTIONS, *measures.DIFFICULTY_OPTIONS):
        yield 0, None, text, note
    yield 0, None, measures.DIFFICULTY_QUESTION, note


def extract_prompts(
    fileobj: IO[bytes], keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extractor for the prompt library (babel.cfg): each prompt's text, with its id as
    the translator's comment, so `pybabel extract` puts the whole library in the catalog."""
    library = json.load(fileobj)
    for phases in library["areas"].values():
        for prompts in phases.values():
            for prompt in prompts:
                yield 0, None, prompt["text"], [f"goal prompt {prompt['id']}"]
