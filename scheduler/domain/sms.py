"""Pure SMS helpers: GSM-7 / UCS-2 segment counting, names for texts.

Reply keywords and their parser live in `replies` and are re-exported here. Dates and times in
texts are Babel's, in the client's language (scheduler.formats)."""

from __future__ import annotations

import unicodedata
from typing import Literal

# The reply parser lives in `replies`; these names stay importable from here.
from .replies import (  # noqa: F401
    CONFIRM_WORDS,
    HELP_WORDS,
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    RESCHEDULE_WORDS,
    Keyword,
    Parsed,
    parse_reply,
)

Encoding = Literal["GSM-7", "UCS-2"]


# Names longer than this are cut so that every template stays within one GSM-7 segment
# (tests/unit/test_sms_domain.py renders each template with a name of exactly this length).
MAX_FIRST_NAME_IN_SMS = 20
FALLBACK_FIRST_NAME = "there"  # "Hi there," reads better than "Hi ," when no name is on file

# GSM 03.38 default alphabet (one septet each). ESC (0x1B) is left out: it only introduces
# the extension table below.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: sent as ESC + char, so each costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7_ANY = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE, GSM7_PART = 160, 153  # a concatenated part loses 7 septets to the UDH
UCS2_SINGLE, UCS2_PART = 70, 67  # a concatenated part loses 3 UTF-16 units to the UDH


def encoding_for(text: str) -> Encoding:
    """GSM-7 when every character is in the default alphabet or its extension table."""
    # One set test in C: the dispatcher asks this of every text it renders, twice.
    if GSM7_ANY.issuperset(text):
        return "GSM-7"
    return "UCS-2"


def _units(text: str, encoding: Encoding) -> list[int]:
    """Per-character cost: septets for GSM-7, UTF-16 code units for UCS-2."""
    if encoding == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def characters_used(text: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the text occupies."""
    return sum(_units(text, encoding_for(text)))


def segment_count(text: str) -> int:
    """How many SMS segments the text is billed as; an empty text still takes one."""
    encoding = encoding_for(text)
    units = _units(text, encoding)
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
    if sum(units) <= single:
        return 1
    # Pack greedily: an escape pair or a surrogate pair is never split across two parts,
    # which can cost one more part than plain division would suggest.
    segments, used = 1, 0
    for cost in units:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return segments


def sms_first_name(name: str | None) -> str:
    """A first name fit for a one-segment text: GSM-7 where possible, at most 20 characters."""
    cleaned = " ".join((name or "").split())
    if GSM7_BASIC.issuperset(cleaned):  # the usual name, checked in C: nothing to replace
        short = cleaned[:MAX_FIRST_NAME_IN_SMS].rstrip(" -'.")
        return short or FALLBACK_FIRST_NAME
    letters = []
    for ch in cleaned:
        if ch in GSM7_BASIC:
            letters.append(ch)
            continue
        # "Zoë" would force the whole text into UCS-2 (70 chars a segment); "Zoe" keeps GSM-7.
        # Characters without a GSM base letter (other scripts, emoji) are kept as they are.
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        letters.append(base if base and all(c in GSM7_BASIC for c in base) else ch)
    short = "".join(letters)[:MAX_FIRST_NAME_IN_SMS].rstrip(" -'.")
    return short or FALLBACK_FIRST_NAME
