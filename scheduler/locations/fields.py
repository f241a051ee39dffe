"""Per-field parsers for one office in locations.yaml.

Each parser takes the raw YAML value and returns the typed value or raises ``_Bad`` naming
every problem; ``_check`` turns those into error lines that carry the field's path. The
underscore names are private to the ``scheduler.locations`` package, not to this module.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .model import Closure, Interval, _canonical_e164

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
US_STATES = frozenset(_STATE_CODES.split())
# Checks an office may downgrade from error to warning, with a stated reason.
ACKNOWLEDGEABLE = frozenset({"zip_state_mismatch"})

_DEFAULT_HOURS = {**{d: ["08:00-20:00"] for d in WEEKDAYS[:5]}, "sat": ["09:00-13:00"], "sun": []}
_SPAN = re.compile(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*")
_E164 = re.compile(r"\+[1-9]\d{1,14}")
_ZIP = re.compile(r"\d{5}")


class _Bad(Exception):
    """Problems with one field, as (sub-path, message); sub-path "" means the field itself."""

    def __init__(self, *problems: tuple[str, str] | str) -> None:
        self.problems = [p if isinstance(p, tuple) else ("", p) for p in problems]


def _check(errors: list[str], where: str, parse: Callable[..., Any], *args: Any) -> Any:
    """Run one field parser, turning its problems into error lines that name the field."""
    try:
        return parse(*args)
    except _Bad as bad:
        errors.extend(f"{where}{sub}: {msg}" for sub, msg in bad.problems)
        return None


def _text(value: Any, hint: str = "") -> str:
    if value is None:
        raise _Bad("missing")
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"expected a non-empty string, got {value!r}{f' ({hint})' if hint else ''}")
    return value


def _rule(ok: Callable[[str], object], problem: str, hint: str = "") -> Callable[[Any], str]:
    """A parser for a string field that must pass ``ok``; ``problem`` formats the bad value."""

    def parse(value: Any) -> str:
        if not ok(text := _text(value, hint)):
            raise _Bad(problem.format(text))
        return text

    return parse


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_state = _rule(US_STATES.__contains__, "{!r} is not a US state code")
_zip = _rule(_ZIP.fullmatch, "{!r} must be five digits", hint='quote it, e.g. "02090"')
_zone = _rule(_is_zone, "{!r} is not an IANA time zone (e.g. America/Chicago)")
_phone = _rule(
    lambda text: _E164.fullmatch(text) and _canonical_e164(text) == text,
    "{!r} is not a valid phone number in E.164 form (+15205550100)",
    hint='quote it, e.g. "+15205550100"',
)


def _span(value: Any) -> Interval:
    # YAML 1.1 reads an unquoted 13:00 as the integer 780, hence the advice to quote.
    if not isinstance(value, str):
        raise _Bad(f'expected a quoted "HH:MM-HH:MM" string, got {value!r}')
    if not (m := _SPAN.fullmatch(value)):
        raise _Bad(f"{value!r} is not HH:MM-HH:MM with times from 00:00 to 23:59")
    start, end = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
    if start >= end:
        raise _Bad(f"{value!r} must start before it ends")
    return start, end


def _hours(value: Any) -> Mapping[int, tuple[Interval, ...]]:
    if not isinstance(value, dict):
        raise _Bad("expected a mapping of mon..sun to lists of intervals")
    problems = [
        ("", f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
        for day in sorted(set(map(str, value)) - set(WEEKDAYS))
    ]
    result: dict[int, tuple[Interval, ...]] = {}
    for index, day in enumerate(WEEKDAYS):
        spans = value.get(day)
        if not isinstance(spans, list):
            # Every day must be listed: a missing day could mean "closed" or "forgot".
            problems.append((f".{day}", "expected a list of intervals ([] for closed)"))
            continue
        intervals: list[Interval] = []
        for span in spans:
            try:
                intervals.append(_span(span))
            except _Bad as bad:
                problems.extend((f".{day}", msg) for _, msg in bad.problems)
        intervals.sort()
        for (a0, a1), (b0, b1) in itertools.pairwise(intervals):
            if b0 <= a1:  # touching too: is_open could not fit a session across the seam
                span_a, span_b = f"{a0:%H:%M}-{a1:%H:%M}", f"{b0:%H:%M}-{b1:%H:%M}"
                problems.append((f".{day}", f"{span_a} and {span_b} overlap or touch; merge them"))
        result[index] = tuple(intervals)
    if problems:
        raise _Bad(*problems)
    return MappingProxyType(result)


def _rooms(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _Bad("expected a non-empty list of room names")
    names = [_text(v) for v in value]
    for dup in names:
        if names.count(dup) > 1:
            raise _Bad(f"room {dup!r} is listed more than once")
    return tuple(names)


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # a datetime would be a moment, not a whole-day closure
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Bad(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _closures(value: Any) -> tuple[Closure, ...]:
    if not isinstance(value, list):
        raise _Bad("expected a list of {date, reason} entries ([] for none)")
    problems: list[tuple[str, str]] = []
    result: list[Closure] = []
    for i, item in enumerate(value):
        try:
            if not isinstance(item, dict) or set(item) != {"date", "reason"}:
                raise _Bad("expected exactly the keys date and reason")
            result.append(Closure(_date(item["date"]), _text(item["reason"])))
        except _Bad as bad:
            problems.extend((f"[{i}]", msg) for _, msg in bad.problems)
    days = [c.date for c in result]
    problems += [
        ("", f"{d} is listed more than once") for d in sorted(set(days)) if days.count(d) > 1
    ]
    if problems:
        raise _Bad(*problems)
    return tuple(sorted(result, key=lambda c: c.date))


def _leads(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise _Bad(f"expected a non-empty list of positive whole hours, got {value!r}")
    if not all(type(v) is int and v > 0 for v in value):  # type(): bool is not an hour count
        raise _Bad(f"lead times must be positive whole hours, got {value!r}")
    if len(set(value)) != len(value):
        raise _Bad(f"{value!r} repeats a lead time")
    return tuple(sorted(value, reverse=True))  # earliest reminder first


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _Bad(f"expected a number greater than 0, got {value!r}")
    return float(value)


def _hours_count(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= 168:  # type(): bool is not an hour count
        raise _Bad(f"expected whole hours between 0 and 168, got {value!r}")
    return value


def _acks(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Bad("expected a mapping of check name to the reason it is accepted")
    for code, reason in value.items():
        if code not in ACKNOWLEDGEABLE:
            raise _Bad(f"{code!r} cannot be acknowledged (allowed: {', '.join(ACKNOWLEDGEABLE)})")
        if not isinstance(reason, str) or not reason.strip():
            raise _Bad(f"{code}: give the reason it is accepted")
    return dict(value)


# (key, parser, value when absent). Order matches Location's fields; quiet_hours and
# acknowledged_warnings are consumed before Location is built.
_OFFICE_FIELDS: tuple[tuple[str, Callable[[Any], Any], Any], ...] = (
    ("name", _text, None),
    ("address", _text, None),
    ("state", _state, None),
    ("zip", _zip, None),
    ("timezone", _zone, None),
    ("sms_number", _phone, None),
    ("phone", _phone, None),
    ("hours", _hours, _DEFAULT_HOURS),
    ("rooms", _rooms, None),
    ("closures", _closures, []),
    ("reminder_leads_hours", _leads, [24, 2]),
    ("sms_max_per_second", _rate, None),
    ("late_cancel_hours", _hours_count, 24),
    ("quiet_hours", _span, "08:00-21:00"),
    ("acknowledged_warnings", _acks, {}),
)
_OFFICE_KEYS = frozenset(["id", *(key for key, _, _ in _OFFICE_FIELDS)])
