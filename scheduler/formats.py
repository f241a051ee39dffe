"""How people in the US read dates, times, zones, phones and form errors (pages and the API).

One place for every human-facing format: "Mon, Feb 1, 2027", "5:00 PM", "Pacific (PST)",
"(206) 555-0142", "Session count must be between 8 and 20". Dates and times go through Babel
with a locale argument (en_US by default) so other languages can reuse the same calls. Zone
names are derived from the zone and the date (CLDR's generic name plus zoneinfo's abbreviation
on that day), never written down per office. Pure functions, no IO.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_time as _babel_time
from babel.dates import get_timezone_name

LOCALE = "en_US"
DAY = "EEE, MMM d, y"  # Mon, Feb 1, 2027
LONG_DAY = "EEEE, MMMM d, y"  # Monday, February 1, 2027
SHORT_DAY = "EEE, MMM d"  # Mon, Feb 1
# Texts, per language. Babel supplies every name; none is written here. Spanish puts the day
# before the month. "Mon Feb 1, 5:00 PM PST" has one comma fewer than DAY: it keeps a reminder
# in one segment.
TEXT_DAY = {"en": "EEE MMM d", "es": "EEE d MMM"}  # Mon Feb 1, mié 3 mar (then ", 5:00 p.m.")
MONTH_DAY = {"en": "MMM d", "es": "d MMM"}  # Feb 1, 1 feb: next to a weekday or in a range
WEEKDAY = "EEEE"  # Monday, lunes
TIME = "h:mm a"  # 5:00 PM (an explicit pattern: CLDR's own uses a narrow no-break space)
EN_DASH = "\u2013"
# CLDR separates "p. m." and some day/month parts with no-break spaces, which are not in the
# GSM-7 alphabet: one of them would turn a whole text into UCS-2 (70 characters a segment).
_PLAIN_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})

# Field names whose plain-English label is not just the name with spaces.
FIELD_LABELS = {
    "location_id": "Office",
    "home_location_id": "Home office",
    "therapist_id": "Therapist",
    "client_id": "Client",
    "from_client_id": "Client to merge",
    "first_session_date": "First session date",
    "start_time": "Start time",
    "starts_at_local": "New date and time",
    "duration_minutes": "Length (minutes)",
    "sms_consent": "Text reminders consent",
    "goal_prompt_consent": "Goal prompts consent",
    "goal_detail_consent": "Goal details consent",
    "timezone": "Time zone",
    "text": "Reply",
    "body": "Request",
}


def _aware(value: datetime, zone: str | None) -> datetime:
    if value.tzinfo is None:
        raise ValueError("expected an aware datetime")
    return value.astimezone(ZoneInfo(zone)) if zone else value


# A week's list formats the same few days and wall times hundreds of times, and each Babel
# call parses its locale again: these pure results are kept (a day or a wall time per entry).
@lru_cache(maxsize=4096)
def _day(day: date, pattern: str, locale: str) -> str:
    return _babel_date(day, pattern, locale=locale)


@lru_cache(maxsize=4096)
def _clock(at: time, locale: str) -> str:
    return _babel_time(at, TIME, locale=locale)


def format_date(day: date | datetime, zone: str | None = None, *, locale: str = LOCALE) -> str:
    """'Mon, Feb 1, 2027' (an aware datetime is first put in `zone`)."""
    if isinstance(day, datetime):
        day = _aware(day, zone).date()
    return _day(day, DAY, locale)


def format_long_date(day: date, *, locale: str = LOCALE) -> str:
    """'Monday, February 1, 2027'."""
    return _day(day, LONG_DAY, locale)


def format_short_date(day: date, *, locale: str = LOCALE) -> str:
    """'Mon, Feb 1' (for day columns where the year is obvious)."""
    return _day(day, SHORT_DAY, locale)


def format_time(at: time | datetime, zone: str | None = None, *, locale: str = LOCALE) -> str:
    """'5:00 PM': a wall time, or an aware datetime seen in `zone`."""
    if isinstance(at, datetime):
        at = _aware(at, zone).time()
    return _clock(at.replace(second=0, microsecond=0, tzinfo=None), locale)  # TIME shows no more


def format_time_range(start: datetime, end: datetime, zone: str, *, locale: str = LOCALE) -> str:
    """'5:00 PM–5:50 PM' in `zone`."""
    return (
        f"{format_time(start, zone, locale=locale)}{EN_DASH}{format_time(end, zone, locale=locale)}"
    )


@lru_cache(maxsize=64)
def _generic_name(zone: str, day: date, locale: str) -> str:
    at = datetime.combine(day, time(12), ZoneInfo(zone))
    name = get_timezone_name(at, width="long", zone_variant="generic", locale=locale)
    if name.startswith("GMT") or "(" in name:  # no generic name in CLDR (e.g. Honolulu)
        name = get_timezone_name(at, width="long", zone_variant="standard", locale=locale)
    for suffix in (" Standard Time", " Daylight Time", " Time"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def zone_name(zone: str, on: date | datetime | None = None, *, locale: str = LOCALE) -> str:
    """'Pacific (PST)': the zone's common name and its abbreviation on that date (default today)."""
    tz = ZoneInfo(zone)
    if isinstance(on, datetime):
        at = _aware(on, zone)
    else:
        at = datetime.combine(on, time(12), tz) if on else datetime.now(tz)
    return f"{_generic_name(zone, at.date(), locale)} ({at.tzname()})"


# Every text state of a list names a time ("reminder planned for ..."): kept per instant.
@lru_cache(maxsize=8192)
def format_when(at: datetime, zone: str, *, locale: str = LOCALE) -> str:
    """'Mon, Feb 1, 2027, 5:00 PM PST' in `zone`."""
    local = _aware(at, zone)
    return (
        f"{format_date(local, locale=locale)}, {format_time(local, locale=locale)} {local.tzname()}"
    )


@lru_cache(maxsize=16)
def _text_pattern(patterns: str, locale: str) -> str:
    table = TEXT_DAY if patterns == "text" else MONTH_DAY
    return table.get(Locale.parse(locale).language, table["en"])


def format_month_day(day: date | datetime, zone: str | None = None, *, locale: str = LOCALE) -> str:
    """'Feb 1', '1 feb' (an aware datetime is first put in `zone`)."""
    if isinstance(day, datetime):
        day = _aware(day, zone).date()
    return _day(day, _text_pattern("month_day", locale), locale).translate(_PLAIN_SPACES)


def format_weekday(day: date | datetime, zone: str | None = None, *, locale: str = LOCALE) -> str:
    """'Monday', 'lunes' (an aware datetime is first put in `zone`)."""
    if isinstance(day, datetime):
        day = _aware(day, zone).date()
    return _day(day, WEEKDAY, locale).translate(_PLAIN_SPACES)


def format_text_when(at: datetime, zone: str, *, locale: str = LOCALE, weekday: bool = True) -> str:
    """A visit's start as a text shows it in `zone` (no year, to stay short): 'Wed Mar 3,
    5:00 PM PST' (en_US), 'mié 3 mar, 5:00 p. m. PST' (es); only plain spaces, so GSM-7
    stays possible. `weekday=False` leaves the day's name out ('3 mar, 5:00 p. m. PST')."""
    local = _aware(at, zone)
    day = _day(local.date(), _text_pattern("text" if weekday else "month_day", locale), locale)
    text = f"{day}, {format_time(local, locale=locale)} {local.tzname() or zone}"
    return text.translate(_PLAIN_SPACES)


def format_text_time(at: datetime, zone: str, *, locale: str = LOCALE) -> str:
    """'5:00 PM PST', '5:00 p. m. PST' in `zone`."""
    local = _aware(at, zone)
    return f"{format_time(local, locale=locale)} {local.tzname()}".translate(_PLAIN_SPACES)


def format_phone(e164: str | None) -> str:
    """'(206) 555-0142' for a US number; anything else as stored."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, "US")
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code != 1:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def field_label(field: str) -> str:
    """'session_count' -> 'Session count'; a nested 'sessions.0.room' is labelled by its leaf."""
    leaf = field.rsplit(".", 1)[-1]
    if leaf in FIELD_LABELS:
        return FIELD_LABELS[leaf]
    words = leaf.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Request"


def field_error(field: str, problem: str) -> str:
    """A sentence naming the field: ('session_count', 'must be between 8 and 20') ->
    'Session count must be between 8 and 20'. A problem that already names it is kept."""
    label = field_label(field)
    text = problem.strip()
    if text.lower().startswith(label.lower()):
        return text[:1].upper() + text[1:]
    return f"{label} {text}" if text else f"{label} is not valid"


def field_errors(fields: Mapping[str, str]) -> dict[str, str]:
    """Every field's problem as a sentence that names it (same keys)."""
    return {name: field_error(name, problem) for name, problem in fields.items()}
