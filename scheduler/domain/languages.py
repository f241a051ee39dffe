"""The languages clients are texted in: one code per language, English the default.

Adding a language is a catalog (scheduler/locale/<code>/LC_MESSAGES/messages.po, see the
README) plus one entry here; everything that lists languages reads this table.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "es"]
DEFAULT_LANGUAGE: Language = "en"
# Each language's name as its speakers write it (what staff pick from and see on pages).
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "es": "Español"}
# The Babel locale of each language: US English, and CLDR's Spanish ("lun 1 feb, 5:00 p. m.").
LOCALES: dict[str, str] = {"en": "en_US", "es": "es"}


def N_(message: str) -> str:
    """Mark `message` for the catalogs (`pybabel extract` finds N_ calls); it is translated
    where it is shown, in the reader's language."""
    return message


def check_language(code: str) -> str:
    """`code` when it is a supported language; ValueError naming the choices otherwise."""
    if code not in LANGUAGE_NAMES:
        choices = " or ".join(repr(c) for c in LANGUAGE_NAMES)
        raise ValueError(f"must be {choices}")
    return code
