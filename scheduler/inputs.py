"""The one set of rules every input passes, whatever the door (API, pages, CLI, query strings).

Each rule is a plain function returning the problem as words ("must not contain control
characters") or None; the edges (pydantic bodies in web/api/schemas.py, WTForms in
web/frontdesk/forms.py, the request guard in web/input_guard.py, click types in cli.py) turn a
problem into their own refusal naming the field. Keeping the rules here means a NUL byte, an id
past the database's integers or a date in year 9999 is refused the same way everywhere, before
it can reach PostgreSQL (which rejects NUL in text and integers past 2^31 with a 500) or SQLite
(which overflows at 2^63).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, time

# Ids are INTEGER columns: signed 32 bits on PostgreSQL. SQLite would take up to 2^63, but an id
# must mean the same on both databases, so the narrower range is the rule.
ID_MAX = 2**31 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# A practice books, reports and reads calendars within this century; anything outside is a typo
# (or a probe), and far-off years overflow date arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2100

# Line breaks (and tabs) are text in a multi-line field (a note, a reply); nowhere else.
_MULTILINE_OK = frozenset("\n\r\t")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is not acceptable text, or None.

    Refused: NUL and every other control character (line breaks only outside multi-line
    fields), and lone surrogates, which no database encoding can store.
    """
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc":
            if multiline and ch in _MULTILINE_OK:
                continue
            if ch in "\n\r":
                return "must be a single line"
            return "must not contain control characters"
        if category == "Cs":
            return "must not contain invalid characters (lone surrogates)"
    return None


def id_problem(value: int) -> str | None:
    """Why `value` cannot be a row id, or None."""
    if not 1 <= value <= ID_MAX:
        return f"must be a whole number from 1 to {ID_MAX}"
    return None


def int_problem(value: int) -> str | None:
    """Why `value` does not fit a database integer, or None."""
    if not INT_MIN <= value <= INT_MAX:
        return f"must be between {INT_MIN} and {INT_MAX}"
    return None


def date_problem(value: date) -> str | None:
    """Why `value` (a date, or a datetime's date) is out of range, or None."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        return f"must be a date in the years {FIRST_YEAR}-{LAST_YEAR}"
    return None


def wall_time_problem(value: time | datetime) -> str | None:
    """Why `value` is not a local wall-clock time (it carries an offset), or None.

    Sessions are booked in the office's own time; "09:00Z" or "09:00+05:00" would silently
    mean another hour there, so an offset is refused rather than converted.
    """
    if value.tzinfo is not None:
        return "must be a local time without an offset or Z (the office's own time)"
    if isinstance(value, datetime):
        return date_problem(value)
    return None


def day_arg(raw: str | None) -> date | None:
    """A date from a query string ("2027-03-01") within the years above, else None.

    Pages fall back to a default for a day they cannot show rather than refusing the page.
    """
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        return None
    return None if date_problem(day) else day
